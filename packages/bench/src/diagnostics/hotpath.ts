#!/usr/bin/env node
/**
 * What each call on the @rdmajs/verbs hot path costs, measured in one
 * process on two looped-back RC queue pairs (rxe and most NICs loop back):
 * posting, polling, and the checks around them. Each figure is the median
 * of several repetitions, in microseconds per operation, with the garbage
 * collections seen during the repetitions (zero for an allocation-free call).
 *
 *   node packages/bench/dist/diagnostics/hotpath.js [--json] [--scale k]
 *
 * To tell the JavaScript wrapper's share from the addon's, some calls are
 * repeated directly on the addon object (internal API, reached through
 * native-access.ts only): the difference is what the wrapper's validation
 * and encoding cost. This is a diagnostic for the SDK's developers, not an
 * example of how to use it.
 * @module
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { CompletionBatch, openDevice, type CompletionQueue, type RecvWr, type SendWr } from '@rdmajs/verbs';

import { MemoryProbe } from './memory.js';
import { nativeCq, nativeQp } from './native-access.js';

/** One measured call. */
export interface HotpathRow {
  name: string;
  usPerOp: number;
  /** Fastest and slowest repetition. */
  minUs: number;
  maxUs: number;
  gcMinor: number;
  gcMajor: number;
  /** Heap growth per operation over the repetitions (bytes; meaningful when no GC ran). */
  heapBytesPerOp: number;
  ops: number;
}

const REPS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * Runs `body(n)` once to warm up, then REPS times, timing only what `body`
 * reports as timed (it returns the milliseconds it wants counted, so set-up
 * such as draining a queue stays out of the figure).
 */
async function measure(name: string, n: number, perCall: number, body: (n: number) => number): Promise<HotpathRow> {
  body(Math.max(perCall, Math.min(n, 500)));
  const probe = new MemoryProbe();
  probe.start();
  const per: number[] = [];
  for (let r = 0; r < REPS; r++) per.push((body(n) * 1000) / n);
  const mem = await probe.stop();
  const heapBytesPerOp = ((mem.after.heapUsedMiB - mem.before.heapUsedMiB) * 2 ** 20) / (n * REPS);
  return { name, usPerOp: median(per), minUs: Math.min(...per), maxUs: Math.max(...per), gcMinor: mem.gc.minor, gcMajor: mem.gc.major, heapBytesPerOp, ops: n * REPS };
}

/** Polls until `want` completions have been reaped; throws on a failed one. */
function drain(cq: CompletionQueue, batch: CompletionBatch, want: number): void {
  let got = 0;
  let idle = 0;
  while (got < want) {
    const k = cq.pollInto(batch);
    for (let i = 0; i < k; i++) if (!batch.ok(i)) throw new Error(`completion failed: ${batch.status(i)}`);
    got += k;
    // No clock here (reading it allocates): give up after a few million empty polls.
    if (k === 0 && ++idle > 5_000_000) throw new Error(`stalled with ${got} of ${want} completions`);
  }
}

export async function hotpath(scale = 1): Promise<HotpathRow[]> {
  const ctx = openDevice();
  try {
    const pd = ctx.allocPd();
    const cqA = ctx.createCq({ entries: 1024 });
    const cqB = ctx.createCq({ entries: 1024 });
    const rcqB = ctx.createCq({ entries: 1024 });
    const cap = { maxSendWr: 256, maxRecvWr: 512 };
    const qpA = pd.createQp({ sendCq: cqA, recvCq: cqA, cap });
    const qpB = pd.createQp({ sendCq: cqB, recvCq: rcqB, cap });
    const epA = qpA.endpoint();
    const a = qpA.connect(qpB.endpoint());
    const b = qpB.connect(epA);
    const mr = pd.allocateMemory(1 << 16, ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ', 'REMOTE_ATOMIC']);
    const target = mr.remote(1 << 15);
    const batch = new CompletionBatch(32);
    const rbatch = new CompletionBatch(32);
    const nA = nativeQp(a);
    const nB = nativeQp(b);
    const nativeCqA = nativeCq(cqA);
    const rows: HotpathRow[] = [];
    const N = (x: number) => Math.max(16, Math.round((x * scale) / 16) * 16);
    const timed = (f: () => void): number => {
      const t = performance.now();
      f();
      return performance.now() - t;
    };

    // Calls that do nothing useful on their own: the floor under every post and poll.
    rows.push(await measure('performance.now()', N(20000), 1, (n) => timed(() => { for (let i = 0; i < n; i++) performance.now(); })));
    rows.push(await measure('qp.closed (getter, native)', N(20000), 1, (n) => timed(() => { for (let i = 0; i < n; i++) void a.closed; })));
    rows.push(await measure('mr.closed (getter, native)', N(20000), 1, (n) => timed(() => { for (let i = 0; i < n; i++) void mr.closed; })));
    rows.push(await measure('cq.pollInto(batch), empty CQ', N(20000), 1, (n) => timed(() => { for (let i = 0; i < n; i++) cqA.pollInto(batch); })));
    rows.push(await measure('  addon poll(32) only, empty CQ', N(20000), 1, (n) => timed(() => { for (let i = 0; i < n; i++) nativeCqA.poll(32); })));

    // One signaled 64 B RDMA WRITE, posted and reaped (rxe does the work inside the post's system call).
    const write: SendWr = { id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr, offset: 0, length: 64 }], remote: target, signaled: true };
    rows.push(
      await measure('WRITE 64 B: qp.postSend(wr) + reap', N(2000), 1, (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            a.postSend(write);
            drain(cqA, batch, 1);
          }
        }),
      ),
    );
    a.postSend(write); // leaves `write` encoded in descriptor slot 0
    drain(cqA, batch, 1);
    rows.push(
      await measure('  same, addon postSend(1) only (region idle)', N(2000), 1, (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            nA.postSend(1);
            drain(cqA, batch, 1);
          }
        }),
      ),
    );

    // One RDMA READ of 2 B: rxe serves reads from a tasklet, not in the posting system call.
    const read: SendWr = { id: 5n, opcode: 'RDMA_READ', sg: [{ mr, offset: 0, length: 2 }], remote: target, signaled: true };
    rows.push(
      await measure('READ 2 B: qp.postSend(wr) + reap', N(500), 1, (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            a.postSend(read);
            drain(cqA, batch, 1);
          }
        }),
      ),
    );

    // Chains of 16 (one doorbell), the last one signaled: per work request.
    const chain: SendWr[] = Array.from({ length: 16 }, (_, j) => ({ ...write, signaled: j === 15 }));
    rows.push(
      await measure('WRITE 64 B x16 chain: qp.postSend(list), per WR', N(4000), 16, (n) =>
        timed(() => {
          for (let i = 0; i < n; i += 16) {
            a.postSend(chain);
            drain(cqA, batch, 1);
          }
        }),
      ),
    );
    // The same requests prepared once (qp.prepareSend): a post is the native call.
    const pWrite = a.prepareSend([write]);
    const pChain = a.prepareSend(chain);
    rows.push(
      await measure('WRITE 64 B: prepared.post() + reap', N(2000), 1, (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            pWrite.post();
            drain(cqA, batch, 1);
          }
        }),
      ),
    );
    rows.push(
      await measure('WRITE 64 B x16 chain: prepared.post(), per WR', N(4000), 16, (n) =>
        timed(() => {
          for (let i = 0; i < n; i += 16) {
            pChain.post();
            drain(cqA, batch, 1);
          }
        }),
      ),
    );
    pWrite.close();
    pChain.close();
    a.postSend(chain);
    drain(cqA, batch, 1);
    rows.push(
      await measure('  same, addon postSend(16) only, per WR', N(4000), 16, (n) =>
        timed(() => {
          for (let i = 0; i < n; i += 16) {
            nA.postSend(16);
            drain(cqA, batch, 1);
          }
        }),
      ),
    );

    // Receives: post 256 (timed), then consume them with 256 SENDs from the peer (not timed).
    const recv: RecvWr = { id: 2n, sg: [{ mr, offset: 0, length: 64 }] };
    const recvChain: RecvWr[] = new Array<RecvWr>(16).fill(recv);
    const sendChain: SendWr[] = Array.from({ length: 16 }, (_, j) => ({ id: 3n, opcode: 'SEND', sg: [{ mr, offset: 128, length: 64 }], signaled: j === 15 }));
    const consume = (k: number) => {
      for (let i = 0; i < k; i += 16) {
        a.postSend(sendChain);
        drain(cqA, batch, 1);
      }
      drain(rcqB, rbatch, k);
    };
    const recvRound = (post: () => void, perPost: number) => (n: number) => {
      let ms = 0;
      for (let done = 0; done < n; done += 256) {
        ms += timed(() => {
          for (let i = 0; i < 256; i += perPost) post();
        });
        consume(256);
      }
      return ms;
    };
    rows.push(await measure('qp.postRecv(wr)', N(1024), 1, recvRound(() => b.postRecv(recv), 1)));
    b.postRecv(recv); // leaves `recv` encoded in slot 0 (and one receive spare)
    rows.push(await measure('  addon postRecv(1) only', N(1024), 1, recvRound(() => nB.postRecv(1), 1)));
    rows.push(await measure('qp.postRecv(list of 16), per WR', N(1024), 16, recvRound(() => b.postRecv(recvChain), 16)));

    // Atomics: the wrapper checks alignment with BigInt arithmetic.
    const old = pd.allocateMemory(64, ['LOCAL_WRITE']);
    const oldAt = (8 - Number(old.address % 8n)) % 8;
    const atomicTarget = { address: target.address + ((8n - (target.address % 8n)) % 8n), rkey: target.rkey };
    const fadd: SendWr = { id: 4n, opcode: 'ATOMIC_FETCH_AND_ADD', sg: [{ mr: old, offset: oldAt, length: 8 }], remote: atomicTarget, compareAdd: 1n, signaled: true };
    rows.push(
      await measure('FETCH_AND_ADD: qp.postSend(wr) + reap', N(1000), 1, (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            a.postSend(fadd);
            drain(cqA, batch, 1);
          }
        }),
      ),
    );

    // The same WRITE again, now that a posted receive (the spare one above)
    // keeps the region held: the post no longer takes the region's first
    // hold (a JS reference made strong) nor the reap drops its last.
    a.postSend(write);
    drain(cqA, batch, 1);
    rows.push(
      await measure('  addon postSend(1) + reap, region held anyway', N(2000), 1, (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            nA.postSend(1);
            drain(cqA, batch, 1);
          }
        }),
      ),
    );
    return rows;
  } finally {
    ctx.close();
  }
}

export function formatHotpath(rows: HotpathRow[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  const head = `${'call'.padEnd(w)}   µs/op (median of ${REPS})   range          heap B/op  GCs`;
  return [
    head,
    '-'.repeat(head.length + 4),
    ...rows.map(
      (r) =>
        `${r.name.padEnd(w)}   ${r.usPerOp.toFixed(3).padStart(9)}                ${r.minUs.toFixed(2)}-${r.maxUs.toFixed(2)}`.padEnd(w + 44) +
        `${(r.gcMinor + r.gcMajor > 0 ? '-' : r.heapBytesPerOp.toFixed(1)).padStart(9)}  ${r.gcMinor} minor, ${r.gcMajor} major over ${r.ops} ops`,
    ),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const at = argv.indexOf('--scale');
  const scale = at >= 0 ? Number(argv[at + 1]) || 1 : 1;
  const rows = await hotpath(scale);
  process.stdout.write((json ? JSON.stringify({ tool: 'rdmajs-hotpath', node: process.version, rows }) : formatHotpath(rows)) + '\n');
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`rdmajs-hotpath: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
