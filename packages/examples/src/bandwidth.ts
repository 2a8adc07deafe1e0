#!/usr/bin/env node
/**
 * RDMA WRITE bandwidth between two RC queue pairs of one process (the
 * device loops the traffic back: rxe and most NICs do), then a check that
 * the last message landed intact.
 *
 *   node bandwidth.js [-s 65536] [-n 2000] [-d 32]
 *
 * What it teaches:
 * - One-sided RDMA: the writer needs the target's address and rkey
 *   (`mr.remote()`), the target's CPU takes no part, and the target
 *   region must allow REMOTE_WRITE.
 * - Keeping the send queue full: up to `depth` writes in flight, reaping
 *   completions with `cq.pollInto(batch)` into a preallocated
 *   {@link CompletionBatch} (no object per completion), reposting as they
 *   complete.
 * - Selective signaling: only one write in `depth / 2` asks for a
 *   completion; RC completes in order, so one completion vouches for the
 *   unsignaled writes before it.
 * @module
 */
import { CompletionBatch } from '@rdmajs/verbs';

import { intFlag, runExample, UsageError } from './cli.js';
import { loopback } from './loopback.js';

const USAGE = `usage: bandwidth [-s <bytes>] [-n <writes>] [-d <depth>]
RDMA WRITE bandwidth between two RC queue pairs looped back on one device.
  -s, --size <bytes>   bytes per write (default 65536)
  -n, --iters <n>      writes (default 2000)
  -d, --depth <n>      writes in flight (default 32)
  -h, --help           this help
  -V, --version        print the version
environment: RDMAJS_DEVICE=<name> the device to use
exit codes: 0 done, 1 failed, 2 usage error
`;

runExample(
  'bandwidth',
  USAGE,
  { size: { type: 'string', short: 's' }, iters: { type: 'string', short: 'n' }, depth: { type: 'string', short: 'd' } },
  (args) => {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const size = intFlag(args, 'size', 65536);
    const iterations = intFlag(args, 'iters', 2000);
    const depth = intFlag(args, 'depth', 32, 2);
    const signalEvery = Math.max(1, depth >> 1);
    const { ctx, pd, a, cqA } = loopback(depth);
    try {
      const src = pd.allocateMemory(size);
      const dst = pd.allocateMemory(size, ['LOCAL_WRITE', 'REMOTE_WRITE']);
      const wr = { id: 0n, opcode: 'RDMA_WRITE' as const, sg: [{ mr: src }], remote: dst.remote(), signaled: false };
      const batch = new CompletionBatch(depth);
      let posted = 0;
      let signals = 0; // completions reaped: the j-th vouches for the first min(j * signalEvery, iterations) writes
      let done = 0;
      const t0 = process.hrtime.bigint();
      while (done < iterations) {
        while (posted < iterations && posted - done < depth) {
          // Fill the last write with its number, so the check below can tell it arrived.
          if (posted === iterations - 1) src.buffer.fill(posted & 0xff);
          wr.signaled = (posted + 1) % signalEvery === 0 || posted === iterations - 1;
          a.postSend(wr);
          posted++;
        }
        const n = cqA.pollInto(batch);
        for (let i = 0; i < n; i++) if (!batch.ok(i)) throw new Error(`RDMA WRITE failed: ${batch.status(i)}`);
        signals += n;
        done = Math.min(signals * signalEvery, iterations);
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const bytes = iterations * size;
      const intact = dst.buffer.every((b) => b === ((iterations - 1) & 0xff));
      console.log(
        `RDMA WRITE ${iterations} x ${size} B, ${depth} in flight: ${(bytes / seconds / 2 ** 20).toFixed(1)} MiB/s ` +
          `(${((bytes * 8) / seconds / 1e9).toFixed(3)} Gb/s), ${(iterations / seconds / 1e6).toFixed(4)} Mpps; last write ${intact ? 'intact' : 'CORRUPT'}`,
      );
      if (!intact) process.exitCode = 1;
    } finally {
      ctx.close();
    }
  },
);
