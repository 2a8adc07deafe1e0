// rdma_cm on the real device: listen/connect/accept/reject/disconnect with
// data moved over the connection, error mapping, and many client processes.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { cm, openDevice, type Context } from '../../src/index.js';
import { pollN } from './helpers.js';

// Client processes in the many-connections test (each is a whole Node process).
const CLIENTS = Number(process.env.RDMAJS_CM_CLIENTS ?? 8);
const verbs = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

let ctx: Context | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  ctx?.close();
  ctx = undefined;
});

function setup() {
  ctx = openDevice();
  const ip = ctx.defaultGid(1).ip!;
  const pd = ctx.allocPd();
  const cq = ctx.createCq({ entries: 256 });
  return { ip, pd, cq };
}

async function listen(ip: string) {
  const listener = await cm.listen({ host: ip, port: 0 });
  cleanups.push(() => listener.close());
  const port = listener.address()!.port;
  expect(port).toBeGreaterThan(0);
  return { listener, port };
}

describe('rdma_cm', () => {
  it('connects, carries private data both ways, moves data, and disconnects', async () => {
    const { ip, pd, cq } = setup();
    const { listener, port } = await listen(ip);
    const buf = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const src = pd.allocateMemory(4096);
    src.buffer.fill(0x5a);

    const serverSide = (async () => {
      const req = (await listener.next())!;
      expect(req.remotePrivateData.toString()).toBe('hello from client');
      expect(req.device).toBe(ctx!.name);
      return req.accept({
        pd,
        qp: { sendCq: cq },
        privateData: Buffer.from(JSON.stringify({ address: String(buf.address), rkey: buf.rkey })),
        prepare: (qp) => qp.postRecv({ id: 77n, sg: [{ mr: buf, offset: 2048, length: 2048 }] }),
      });
    })();
    const client = await cm.connect({ host: ip, port, pd, qp: { sendCq: cq }, privateData: Buffer.from('hello from client') });
    cleanups.push(() => client.close());
    const server = await serverSide;
    cleanups.push(() => server.close());

    expect(client.remoteAddress).toMatchObject({ address: ip, port });
    expect(server.remoteAddress?.address).toBe(ip);
    // The server's accept carried its buffer's address and rkey.
    const remote = JSON.parse(client.remotePrivateData.toString()) as { address: string; rkey: number };
    client.qp.postSend({ id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr: src, length: 1000 }], remote: { address: BigInt(remote.address), rkey: remote.rkey } });
    client.qp.postSend({ id: 2n, opcode: 'SEND', sg: [{ mr: src, offset: 0, length: 300 }] });
    const wcs = pollN(cq, 3);
    expect(wcs.every((w) => w.ok)).toBe(true);
    expect(wcs.find((w) => w.id === 77n)).toMatchObject({ byteLen: 300, qpNum: server.qp.qpn });
    expect(buf.buffer.subarray(0, 1000).every((b) => b === 0x5a)).toBe(true);
    expect(buf.buffer[1000]).toBe(0);
    expect(buf.buffer.subarray(2048, 2348).every((b) => b === 0x5a)).toBe(true);

    const serverSaw = new Promise<void>((resolve) => server.once('disconnected', resolve));
    await client.disconnect();
    await serverSaw;
    expect(client.disconnected && server.disconnected).toBe(true);
  });

  it('the passive side can disconnect too', async () => {
    const { ip, pd, cq } = setup();
    const { listener, port } = await listen(ip);
    const accepted = listener.next().then((req) => req!.accept({ pd, qp: { sendCq: cq } }));
    const client = await cm.connect({ host: ip, port, pd, qp: { sendCq: cq } });
    const server = await accepted;
    cleanups.push(() => client.close(), () => server.close());
    const clientSaw = new Promise<void>((resolve) => client.once('disconnected', resolve));
    await server.disconnect();
    await clientSaw;
    expect(client.qp.query().qpState).toBe('ERR');
  });

  it('a rejected connect fails with ECONNREFUSED carrying the reject data', async () => {
    const { ip, pd, cq } = setup();
    const { listener, port } = await listen(ip);
    void listener.next().then((req) => req!.reject(Buffer.from('go away')));
    const err = await cm.connect({ host: ip, port, pd, qp: { sendCq: cq } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', syscall: 'rdma_connect' });
    expect((err as { rejectData: Buffer }).rejectData.toString()).toBe('go away');
  });

  it('maps refused ports, taken ports, oversized private data and bad arguments to clear errors', async () => {
    const { ip, pd, cq } = setup();
    const { port } = await listen(ip);
    await expect(cm.connect({ host: ip, port: port === 65535 ? 65534 : port + 1, pd, qp: { sendCq: cq }, timeoutMs: 20_000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    await expect(cm.listen({ host: ip, port })).rejects.toMatchObject({ code: 'EADDRINUSE', syscall: 'rdma_bind_addr' });
    await expect(cm.connect({ host: ip, port, pd, qp: { sendCq: cq }, privateData: Buffer.alloc(56) })).rejects.toThrow(RangeError);
    await expect(cm.connect({ host: ip, port: 0, pd, qp: { sendCq: cq } })).rejects.toThrow(RangeError);
    await expect(cm.connect(null as never)).rejects.toThrow(TypeError);
    await expect(cm.connect({ host: 'no-such-host.invalid', port, pd, qp: { sendCq: cq } })).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
  });

  it(`serves ${CLIENTS} clients in separate processes connecting at once; a killed client leaves the server healthy`, async () => {
    const { ip, pd, cq } = setup();
    const { listener, port } = await listen(ip);
    const served: Array<Promise<unknown>> = [];
    const conns: cm.Connection[] = [];
    const serving = (async () => {
      for await (const req of listener) {
        served.push(
          req.accept({ pd, qp: { sendCq: cq, cap: { maxSendWr: 4, maxRecvWr: 4 } } }).then((c) => {
            conns.push(c);
            return req.remotePrivateData.toString();
          }),
        );
      }
    })();
    const client = (n: number, hang = false) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', `
          import * as v from ${JSON.stringify(verbs)};
          const ctx = v.openDevice();
          const pd = ctx.allocPd();
          const conn = await v.cm.connect({ host: ${JSON.stringify(ip)}, port: ${port}, pd,
            qp: { sendCq: ctx.createCq(), cap: { maxSendWr: 4, maxRecvWr: 4 } }, privateData: Buffer.from('client ${n}'), timeoutMs: 60000 });
          console.log('connected', conn.qp.qpn);
          ${hang ? 'setInterval(() => {}, 1000);' : 'await conn.close(); ctx.close();'}
        `], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d;
          if (hang && out.includes('connected')) child.kill('SIGKILL');
        });
        child.stderr.on('data', (d: Buffer) => (out += d));
        child.on('close', (code, signal) => (code === 0 || (hang && signal === 'SIGKILL') ? resolve(out) : reject(new Error(`client ${n}: ${code} ${out}`))));
      });
    const killed = await client(999, true);
    expect(killed).toContain('connected');
    const outs = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    expect(outs.every((o) => o.includes('connected'))).toBe(true);
    const names = (await Promise.all(served)) as string[];
    expect(names).toHaveLength(CLIENTS + 1);
    expect(new Set(names).size).toBe(CLIENTS + 1);
    // Every connection, including the killed client's, ends disconnected.
    const deadline = Date.now() + 60_000;
    while (conns.some((c) => !c.disconnected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(conns.filter((c) => !c.disconnected)).toHaveLength(0);
    // And the listener still accepts.
    expect(await client(1000)).toContain('connected');
    for (const c of conns) await c.close();
    listener.close();
    await serving;
  }, 240_000);
});
