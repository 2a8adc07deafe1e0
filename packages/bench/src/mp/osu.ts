#!/usr/bin/env node
/**
 * OSU-style message-passing benchmark for @rdmajs/mp: the twin of
 * packages/bench/anchors/osu.c (the Open MPI + UCX anchor), with the same
 * tests, sizes, iteration counts, options and JSON lines, so
 * scripts/bench-mp.sh sets the two side by side.
 *
 *   rdmajs-run -n 2 -- node packages/bench/dist/mp/osu.js latency   [options]
 *   rdmajs-run -n 2 -- node packages/bench/dist/mp/osu.js bw        [options]
 *   rdmajs-run -n 4 -- node packages/bench/dist/mp/osu.js allreduce [options]
 *
 * Options, iterations and the meaning of each figure: mp/osu-args.ts and
 * osu.c's header. Rank 0 prints one JSON object per line on stdout.
 * @module
 */
import { realpathSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { init } from '@rdmajs/mp';

import { osuLine, osuUsage, parseOsuArgs, scaledIterations, type OsuOptions } from './osu-args.js';

/** What the benchmark needs of a communicator (the @rdmajs/mp world communicator has it). */
export interface OsuComm {
  readonly rank: number;
  readonly size: number;
  send(dest: number, tag: number, data: ArrayBufferView): Promise<unknown>;
  recv(options: { source?: number; tag?: number; into: ArrayBufferView }): Promise<unknown>;
  barrier(): Promise<void>;
  allreduce(data: Float64Array, op: 'sum'): Promise<void>;
}

const TAG_DATA = 1;
const TAG_BW = 2;
const TAG_ACK = 3;

/** The median of xs[0..n) (sorts them in place). */
function medianOf(xs: Float64Array, n: number): number {
  const a = xs.subarray(0, n).sort();
  return n % 2 ? a[n >> 1]! : (a[(n >> 1) - 1]! + a[n >> 1]!) / 2;
}

/**
 * `iters` timed iterations after `warmup` untimed ones, between barriers;
 * laps[i] = the i-th timed iteration's time in ms. Returns the mean, in ms.
 */
async function timed(comm: OsuComm, step: () => Promise<void>, iters: number, warmup: number, laps: Float64Array): Promise<number> {
  await comm.barrier();
  for (let i = 0; i < warmup; i++) await step();
  await comm.barrier();
  const t0 = performance.now();
  let prev = t0;
  for (let i = 0; i < iters; i++) {
    await step();
    const now = performance.now();
    laps[i] = now - prev;
    prev = now;
  }
  return (prev - t0) / iters;
}

/** Runs one test over every size; prints on rank 0 through `print`. */
export async function runOsu(comm: OsuComm, opts: OsuOptions, print: (line: string) => void, impl = '@rdmajs/mp'): Promise<void> {
  const { test } = opts;
  if (test !== 'allreduce' && comm.size < 2) throw new RangeError('latency and bw need at least 2 ranks');
  const maxBytes = Math.max(8, ...opts.sizes);
  const maxIters = Math.max(opts.iterations, opts.minIterations);
  // Page-aligned, touched buffers, like osu.c's.
  const a = new Uint8Array(maxBytes).fill(0x61);
  const b = new Uint8Array(maxBytes).fill(0x62);
  const ack = new Uint8Array(4);
  const laps = new Float64Array(maxIters);
  const rank = comm.rank;
  if (rank === 0) print(osuLine({ test: 'info', bench: test, ranks: comm.size, impl: `${impl}, node ${process.version}` }));

  for (const [i, bytes] of opts.sizes.entries()) {
    const iters = scaledIterations(opts.iterations, opts.minIterations, bytes);
    const warmup = scaledIterations(opts.warmup, 1, bytes) + (i === 0 ? opts.jitWarmup : 0);
    if (test === 'latency') {
      const buf = a.subarray(0, bytes);
      const step = async () => {
        if (rank === 0) {
          await comm.send(1, TAG_DATA, buf);
          await comm.recv({ source: 1, tag: TAG_DATA, into: buf });
        } else if (rank === 1) {
          await comm.recv({ source: 0, tag: TAG_DATA, into: buf });
          await comm.send(0, TAG_DATA, buf);
        }
      };
      const mean = await timed(comm, step, iters, warmup, laps);
      if (rank === 0) print(osuLine({ test, bytes, iters, usec: (medianOf(laps, iters) * 1e3) / 2, mean_usec: (mean * 1e3) / 2 }));
    } else if (test === 'bw') {
      const sbuf = a.subarray(0, bytes);
      const rbuf = b.subarray(0, bytes);
      const pending: Promise<unknown>[] = new Array(opts.window);
      const step = async () => {
        if (rank === 0) {
          for (let w = 0; w < opts.window; w++) pending[w] = comm.send(1, TAG_BW, sbuf);
          await Promise.all(pending);
          await comm.recv({ source: 1, tag: TAG_ACK, into: ack });
        } else if (rank === 1) {
          for (let w = 0; w < opts.window; w++) pending[w] = comm.recv({ source: 0, tag: TAG_BW, into: rbuf });
          await Promise.all(pending);
          await comm.send(0, TAG_ACK, ack);
        }
      };
      const mean = await timed(comm, step, iters, warmup, laps);
      // bytes * window per iteration; ms -> MB/s (10^6 bytes/s).
      const per = (bytes * opts.window) / 1e3;
      if (rank === 0) print(osuLine({ test, bytes, iters, window: opts.window, mb_s: per / medianOf(laps, iters), mean_mb_s: per / mean }));
    } else {
      const count = bytes / 8;
      const data = new Float64Array(count);
      // allreduce works in place: check the sum once, then time it on zeros
      // (a sum that stays put, where refilling would add work osu.c does not do).
      data.fill(rank + 1);
      await comm.allreduce(data, 'sum');
      const want = (comm.size * (comm.size + 1)) / 2;
      if (count > 0 && (data[0] !== want || data[count - 1] !== want)) throw new Error(`allreduce: wrong sum ${data[0]}, want ${want}`);
      data.fill(0);
      const mean = await timed(comm, () => comm.allreduce(data, 'sum'), iters, warmup, laps);
      // Each iteration's time averaged over the ranks, then the median (as osu.c).
      const sums = Float64Array.from(laps.subarray(0, iters));
      const means = new Float64Array([mean]);
      await comm.allreduce(sums, 'sum');
      await comm.allreduce(means, 'sum');
      if (rank === 0) {
        print(osuLine({ test, bytes, ranks: comm.size, iters, usec: (medianOf(sums, iters) * 1e3) / comm.size, mean_usec: (means[0]! * 1e3) / comm.size }));
      }
    }
  }
}

async function main(argv: string[]): Promise<number> {
  let opts: OsuOptions;
  try {
    opts = parseOsuArgs(argv);
  } catch (err) {
    process.stderr.write(`mp-osu: ${(err as Error).message}\n${osuUsage}\n`);
    return 2;
  }
  const comm = await init();
  try {
    await runOsu(comm as unknown as OsuComm, opts, (line) => process.stdout.write(`${line}\n`));
  } finally {
    await comm.close();
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`mp-osu: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
