// The mp-heat example on a real device (the testbed VM under `npm test`):
// rdmajs-run starts 1, 2, 3 and 4 ranks of packages/examples/dist/mp-heat.js
// on the same grid; the iteration count, residual and checksum must be
// bit-identical for every rank count, and equal to a serial Jacobi computed
// here (the example's arithmetic is order-independent by construction: see
// its header). Uneven row blocks (46 inside rows over 3 and 4 ranks), the
// convergence stop, and halo rows above the eager limit (rendezvous) are
// all exercised.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../../mp/dist/launch/cli.js', import.meta.url));
const heat = fileURLToPath(new URL('../../dist/mp-heat.js', import.meta.url));

/** Bound of one job: several Node processes under emulation. */
const JOB_TIMEOUT_MS = 150_000;

interface Result {
  size: number;
  ranks: number;
  iterations: number;
  residual: number;
  checksum: number;
  usPerIteration: number;
}

/** `rdmajs-run -n <n> -- node mp-heat.js --json ...args`, killed after JOB_TIMEOUT_MS; rank 0's JSON line. */
function run(n: number, args: string[]): Promise<Result> {
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, '-n', String(n), '--', process.execPath, heat, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mp-heat -n ${n} did not finish within ${JOB_TIMEOUT_MS / 1000} s:\n${output}`));
    }, JOB_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = output.split('\n').find((l) => l.startsWith('[0] {'));
      if (code !== 0 || line === undefined) return reject(new Error(`mp-heat -n ${n} exited with ${code}:\n${output}`));
      resolve(JSON.parse(line.slice(4)) as Result);
    });
  });
}

/** The same Jacobi iteration on one grid, written independently of the example. */
function serial(n: number, maxIterations: number, tolerance: number, checkEvery: number): Omit<Result, 'ranks' | 'usPerIteration'> {
  let u = new Float64Array(n * n).fill(1, 0, n);
  let v = new Float64Array(n * n).fill(1, 0, n);
  let iterations = 0;
  let residual = 0;
  while (iterations < maxIterations) {
    let change = 0;
    for (let i = 1; i < n - 1; i++) {
      for (let j = 1; j < n - 1; j++) {
        const k = i * n + j;
        const x = 0.25 * (u[k - n]! + u[k + n]! + u[k - 1]! + u[k + 1]!);
        v[k] = x;
        change = Math.max(change, Math.abs(x - u[k]!));
      }
    }
    [u, v] = [v, u];
    iterations++;
    if (iterations % checkEvery === 0 || iterations === maxIterations) {
      residual = change;
      if (change <= tolerance) break;
    }
  }
  let checksum = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) row += u[i * n + j]!;
    checksum += row;
  }
  return { size: n, iterations, residual, checksum };
}

describe('mp-heat example on the device', () => {
  // 48 points per side: 46 inside rows (16/15/15 over 3 ranks, 12/12/11/11 over 4); converges at iteration 230.
  const small = { n: 48, iterations: 400, tolerance: 1e-3, checkEvery: 10 };
  const smallArgs = ['--size', '48', '--iterations', '400', '--tolerance', '1e-3', '--check-every', '10'];
  const want = serial(small.n, small.iterations, small.tolerance, small.checkEvery);

  it('the serial reference converges before the iteration bound (the test covers the stop)', () => {
    expect(want.iterations).toBeLessThan(small.iterations);
    expect(want.residual).toBeLessThanOrEqual(small.tolerance);
  });

  for (const ranks of [1, 2, 3, 4]) {
    it(`${ranks} rank(s): iterations, residual and checksum equal the serial Jacobi bit for bit`, async () => {
      const got = await run(ranks, smallArgs);
      expect(got).toMatchObject({ ...want, ranks });
      expect(got.usPerIteration).toBeGreaterThan(0);
    });
  }

  // 1100 points per side: a row is 8800 bytes, above an eager limit of 4096, so halos go by rendezvous.
  const bigArgs = ['--size', '1100', '--iterations', '4', '--tolerance', '0', '--eager-limit', '4096'];
  const bigWant = serial(1100, 4, 0, 10);
  for (const ranks of [1, 4]) {
    it(`halo rows above the eager limit (rendezvous), ${ranks} rank(s): equal to the serial Jacobi`, async () => {
      expect(await run(ranks, bigArgs)).toMatchObject({ ...bigWant, ranks });
    });
  }
});
