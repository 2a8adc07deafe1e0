// The out-of-band path across processes: two Node processes exchange
// qp.endpoint() and an MR's address/rkey as JSON lines over a pipe (as users
// would over TCP or a file), connect with qp.connect(remote), and move data
// both ways with RDMA WRITE and SEND.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { checkEndpoint, openDevice, type Context, type Endpoint } from '../../src/index.js';

const peerScript = fileURLToPath(new URL('./fixtures/endpoint-peer.mjs', import.meta.url));

let ctx: Context | undefined;
afterEach(() => {
  ctx?.close();
  ctx = undefined;
});

describe('endpoint exchange between processes', () => {
  it('qp.endpoint() round-trips through JSON and qp.connect(remote) works across processes (RDMA WRITE + SEND both ways)', async () => {
    const child = spawn(process.execPath, [peerScript], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    // Bounded read of the child's next JSON line.
    const receive = async (what: string): Promise<Record<string, any>> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what} from the child in 60 s; stderr: ${stderr}`)), 60_000);
      });
      try {
        const r = await Promise.race([lines.next(), late]);
        if (r.done) throw new Error(`the child exited before its ${what}; stderr: ${stderr}`);
        return JSON.parse(r.value) as Record<string, any>;
      } finally {
        clearTimeout(timer);
      }
    };
    try {
      ctx = openDevice();
      const pd = ctx.allocPd();
      const cq = ctx.createCq({ channel: ctx.createCompletionChannel() });
      const qp = pd.createQp({ sendCq: cq });
      const mr = pd.allocateMemory(8192, ['LOCAL_WRITE', 'REMOTE_WRITE']);
      const src = pd.allocateMemory(16384);

      const first = await receive('endpoint');
      const remote = checkEndpoint('test', first.endpoint);
      expect(remote.qpn).not.toBe(qp.qpn);
      const local = qp.endpoint();
      expect(JSON.parse(JSON.stringify(local)) as Endpoint).toEqual(local);
      const ready = qp.connect(remote);
      ready.postRecv({ id: 10n, sg: [{ mr, offset: 4096, length: 4096 }] });
      child.stdin.end(JSON.stringify({ endpoint: local, buffer: { address: String(mr.address), rkey: mr.rkey, length: 4096 } }) + '\n');
      expect(await receive('ready line')).toEqual({ ready: true });

      // WRITE 8 KiB, then SEND sha256(those bytes) + 480 random bytes.
      randomBytes(8192).copy(src.buffer, 0);
      createHash('sha256').update(src.buffer.subarray(0, 8192)).digest().copy(src.buffer, 8192);
      randomBytes(480).copy(src.buffer, 8192 + 32);
      const payload = Buffer.from(src.buffer.subarray(8192, 8192 + 512));
      const far = first.buffer as { address: string; rkey: number };
      ready.postSend([
        { id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr: src, length: 8192 }], remote: { address: BigInt(far.address), rkey: far.rkey } },
        { id: 2n, opcode: 'SEND', sg: [{ mr: src, offset: 8192, length: 512 }] },
      ]);
      const wcs = [];
      for (let i = 0; i < 3; i++) wcs.push(await cq.next({ timeoutMs: 30_000 }));
      expect(wcs.map((w) => w.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
      expect(wcs.map((w) => w.id).sort((x, y) => (x < y ? -1 : 1))).toEqual([1n, 2n, 10n]);
      // The child wrote our SEND payload back into [0, 512) and sent its first 4 bytes.
      expect(wcs.find((w) => w.id === 10n)).toMatchObject({ byteLen: 4, opcode: 'RECV' });
      expect(mr.buffer.subarray(0, 512).equals(payload)).toBe(true);
      expect(mr.buffer.subarray(4096, 4100).equals(payload.subarray(0, 4))).toBe(true);

      const report = await receive('report');
      expect(report).toEqual({ writeOk: true, sendBytes: 512, sendHash: createHash('sha256').update(payload).digest('hex') });
      const exit = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000).unref())]);
      expect(exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
