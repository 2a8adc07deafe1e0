#!/usr/bin/env node
/**
 * Heat diffusion on a square plate with @rdmajs/mp: a 2-D Jacobi stencil
 * on a global grid cut into row blocks, one per rank.
 *
 * ```sh
 * npx rdmajs-run --testbed -n 4 node packages/examples/dist/mp-heat.js            # in the SoftRoCE VM
 * npx rdmajs-run -n 4 node packages/examples/dist/mp-heat.js --size 512           # on this host's RDMA device
 * ```
 *
 * The plate is `size` x `size` points. Its edges are held fixed (the top
 * edge at 1, the others at 0) and the inside starts at 0; each iteration
 * replaces every inside point by the mean of its four neighbours, so heat
 * spreads down from the top edge until nothing changes any more.
 *
 * Decomposition: the `size - 2` inside rows are dealt out in contiguous
 * blocks, the first `(size - 2) % ranks` ranks taking one row more. Each
 * rank stores its block plus one *halo* row above and below: copies of the
 * neighbours' boundary rows (or the plate's fixed edge at the ends).
 *
 * ```
 *   rank 0   [ top edge (fixed)     ]  halo
 *            [ rows 1 .. a          ]  owned    -- row a goes down,  row a+1 comes up
 *   rank 1   [ row a (from rank 0)  ]  halo
 *            [ rows a+1 .. b        ]  owned
 *            [ row b+1 (from rank 2)]  halo
 *   ...
 * ```
 *
 * Every iteration: exchange halos with both neighbours (two sends and two
 * receives in flight at once), then one Jacobi sweep from grid `u` into
 * grid `v`, then swap. Every `--check-every` iterations the sweep also
 * measures the largest change of any point, and an allreduce (`max`) gives
 * every rank the global value: all stop at the same iteration once it is
 * below `--tolerance`, or after `--iterations`.
 *
 * Determinism: each point's update reads the same four values in the same
 * order whatever the rank count, `max` is exact, and the checksum is
 * reduced per row (every rank contributes only its own rows, the others
 * add exact zeros) and summed in row order on rank 0. So the residual, the
 * iteration count and the checksum are bit-identical for 1, 2, 3, ... ranks;
 * the device test (`test/device/mp-heat.test.ts`) checks exactly that.
 *
 * Allocation: the grids, the halo row views and the receive options are
 * made once; the loop sends and receives `Float64Array` views of the grids
 * themselves (eager rows are copied through bounce buffers, rows above the
 * eager limit go by RDMA READ straight from the grid).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { init, type Communicator, type RecvOptions } from '@rdmajs/mp';

const USAGE = `usage: node mp-heat.js [--size N] [--iterations N] [--tolerance X] [--check-every K] [--eager-limit B] [--json]

  --size N          grid points per side, edges included (default 64)
  --iterations N    stop after N iterations at most (default 2000)
  --tolerance X     stop once no point changes by more than X in one iteration (default 1e-3)
  --check-every K   measure the change (one allreduce) every K iterations (default 10)
  --eager-limit B   messages above B bytes go by rendezvous (default: the transport's)
  --json            print the result as one JSON line (rank 0)
`;

/** Tags: a row travelling to the rank above, and to the rank below. */
const TAG_UP = 1;
const TAG_DOWN = 2;

interface Options {
  size: number;
  iterations: number;
  tolerance: number;
  checkEvery: number;
  eagerLimit: number | undefined;
  json: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string', default: '64' },
      iterations: { type: 'string', default: '2000' },
      tolerance: { type: 'string', default: '1e-3' },
      'check-every': { type: 'string', default: '10' },
      'eager-limit': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, s: string, min: number): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`--${name} must be an integer >= ${min}, got ${s}\n${USAGE}`);
    return n;
  };
  const tolerance = Number(values.tolerance);
  if (!(tolerance >= 0)) throw new RangeError(`--tolerance must be a number >= 0, got ${values.tolerance}\n${USAGE}`);
  return {
    eagerLimit: values['eager-limit'] === undefined ? undefined : int('eager-limit', values['eager-limit'], 0),
    size: int('size', values.size, 3),
    iterations: int('iterations', values.iterations, 1),
    tolerance,
    checkEvery: int('check-every', values['check-every'], 1),
    json: values.json,
  };
}

/** The inside rows `[first, first + count)` rank `rank` of `ranks` owns (global row numbers). */
function block(inside: number, rank: number, ranks: number): { first: number; count: number } {
  const base = Math.floor(inside / ranks);
  const extra = inside % ranks;
  const count = base + (rank < extra ? 1 : 0);
  const first = 1 + rank * base + Math.min(rank, extra);
  return { first, count };
}

/** One rank's grid: `count + 2` rows of `n` points, and the views its halo exchange uses. */
interface Grid {
  cells: Float64Array;
  /** First owned row: goes to the rank above. */
  sendUp: Float64Array;
  /** Last owned row: goes to the rank below. */
  sendDown: Float64Array;
  /** Receives of the halo rows (reused every iteration). */
  fromAbove: RecvOptions;
  fromBelow: RecvOptions;
}

function makeGrid(n: number, count: number, rank: number, ranks: number): Grid {
  const cells = new Float64Array((count + 2) * n);
  // The plate's fixed edges: the top edge (rank 0's upper halo) is hot; left, right, bottom are 0.
  if (rank === 0) cells.fill(1, 0, n);
  const row = (i: number) => cells.subarray(i * n, (i + 1) * n);
  return {
    cells,
    sendUp: row(1),
    sendDown: row(count),
    fromAbove: { source: rank - 1, tag: TAG_DOWN, into: row(0) },
    fromBelow: { source: rank + 1, tag: TAG_UP, into: row(count + 1) },
  };
}

/** Sends this rank's boundary rows of `g` to its neighbours and receives theirs into `g`'s halos. */
function exchangeHalos(comm: Communicator, g: Grid): Promise<unknown> | undefined {
  const up = comm.rank > 0;
  const down = comm.rank < comm.size - 1;
  if (up && down) {
    return Promise.all([
      comm.isend(comm.rank - 1, TAG_UP, g.sendUp),
      comm.isend(comm.rank + 1, TAG_DOWN, g.sendDown),
      comm.irecv(g.fromAbove),
      comm.irecv(g.fromBelow),
    ]);
  }
  if (up) return Promise.all([comm.isend(comm.rank - 1, TAG_UP, g.sendUp), comm.irecv(g.fromAbove)]);
  if (down) return Promise.all([comm.isend(comm.rank + 1, TAG_DOWN, g.sendDown), comm.irecv(g.fromBelow)]);
  return undefined;
}

/**
 * One Jacobi sweep of the owned rows from `u` into `v`. With `measure`,
 * returns the largest change of any point (else 0).
 */
function sweep(u: Float64Array, v: Float64Array, n: number, count: number, measure: boolean): number {
  let change = 0;
  for (let i = 1; i <= count; i++) {
    const row = i * n;
    for (let j = 1; j < n - 1; j++) {
      const k = row + j;
      const next = 0.25 * (u[k - n]! + u[k + n]! + u[k - 1]! + u[k + 1]!);
      v[k] = next;
      if (measure) {
        const d = Math.abs(next - u[k]!);
        if (d > change) change = d;
      }
    }
  }
  return change;
}

async function main(): Promise<void> {
  const opt = options(process.argv.slice(2));
  const comm = await init(opt.eagerLimit === undefined ? {} : { eagerLimit: opt.eagerLimit });
  try {
    const n = opt.size;
    const inside = n - 2;
    if (comm.size > inside) throw new RangeError(`${comm.size} ranks need a grid of at least ${comm.size + 2} points per side, got --size ${n}`);
    const { first, count } = block(inside, comm.rank, comm.size);
    // Two grids with the same fixed edges; the sweep writes only inside points.
    let a = makeGrid(n, count, comm.rank, comm.size);
    let b = makeGrid(n, count, comm.rank, comm.size);
    const residual = new Float64Array(1);
    const elapsed = new Float64Array(1);

    await comm.barrier();
    const t0 = performance.now();
    let iterations = 0;
    for (let it = 0; it < opt.iterations; it++) {
      await exchangeHalos(comm, a);
      const measure = (it + 1) % opt.checkEvery === 0 || it === opt.iterations - 1;
      const change = sweep(a.cells, b.cells, n, count, measure);
      const t = a;
      a = b;
      b = t;
      iterations = it + 1;
      if (measure) {
        residual[0] = change;
        await comm.allreduce(residual, 'max');
        if (residual[0]! <= opt.tolerance) break;
      }
    }
    elapsed[0] = performance.now() - t0;
    await comm.allreduce(elapsed, 'max');

    // Checksum: per-row sums in one vector, each rank filling only its rows (the fixed edges: rank 0 the top
    // row, the last rank the bottom one); the reduce adds exact zeros elsewhere, rank 0 sums in row order.
    const rowSums = new Float64Array(n);
    const sumRow = (local: number, global: number) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += a.cells[local * n + j]!;
      rowSums[global] = s;
    };
    for (let i = 1; i <= count; i++) sumRow(i, first + i - 1);
    if (comm.rank === 0) sumRow(0, 0);
    if (comm.rank === comm.size - 1) sumRow(count + 1, n - 1);
    await comm.reduce(rowSums, 'sum', 0);

    if (comm.rank === 0) {
      let checksum = 0;
      for (let i = 0; i < n; i++) checksum += rowSums[i]!;
      const usPerIteration = (elapsed[0]! * 1000) / iterations;
      const rows = [block(inside, comm.size - 1, comm.size).count, block(inside, 0, comm.size).count];
      const result = { size: n, ranks: comm.size, iterations, residual: residual[0]!, checksum, usPerIteration };
      if (opt.json) {
        console.log(JSON.stringify(result));
      } else {
        const converged = residual[0]! <= opt.tolerance ? 'converged' : `not converged (tolerance ${opt.tolerance})`;
        console.log(`grid        ${n} x ${n} points, ${comm.size} rank(s), ${rows[0] === rows[1] ? rows[0] : `${rows[0]}-${rows[1]}`} inside rows each`);
        console.log(`iterations  ${iterations}, ${converged}`);
        console.log(`residual    ${residual[0]!.toExponential(6)} (largest change of a point in the last iteration)`);
        console.log(`checksum    ${checksum.toPrecision(15)} (sum of the grid)`);
        console.log(`time        ${usPerIteration.toFixed(1)} us per iteration (${(elapsed[0]! / 1000).toFixed(3)} s)`);
      }
    }
  } finally {
    await comm.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
