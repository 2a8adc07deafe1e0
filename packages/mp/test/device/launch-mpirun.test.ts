// Launchers end to end, in the device environment (the testbed VM, or a
// host with RDMA): Open MPI's mpirun and rdmajs-run start real rank
// processes (fixtures/allreduce-rank.mjs) that join the job with init()
// (launchEnv() for their place, deriveRoot() for rank 0's rendezvous
// address), then allreduce and allgather over rxe.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { freePort } from '../../src/launch/root.js';

const fixture = fileURLToPath(new URL('./fixtures/allreduce-rank.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../../dist/launch/cli.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../..', import.meta.url));

/** Bound of one launcher run: four Node processes starting under emulation. */
const RUN_TIMEOUT_MS = 150_000;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, killing it (and failing) after RUN_TIMEOUT_MS. */
function run(command: string, args: string[]): Promise<Finished> {
  return new Promise<Finished>((resolve, reject) => {
    const child = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${RUN_TIMEOUT_MS / 1000} s\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface RankReport {
  rank: number;
  size: number;
  localRank: number;
  localSize?: number;
  launcher: string;
  root: { host: string; port: number };
  pid: number;
  sum: number[];
  pids: number[];
  pingpong: string | null;
}

/** The JSON line of each rank, after an optional `[r] ` prefix that must then name the same rank. */
function reports(stdout: string, prefixed: boolean): RankReport[] {
  const out: RankReport[] = [];
  for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
    const m = (prefixed ? /^\[(\d+)\] (\{.*\})$/ : /^()(\{.*\})$/).exec(line);
    if (m === null) throw new Error(`unexpected output line: ${JSON.stringify(line)}`);
    const report = JSON.parse(m[2]!) as RankReport;
    if (prefixed) expect(report.rank).toBe(Number(m[1]));
    out.push(report);
  }
  return out.sort((x, y) => x.rank - y.rank);
}

/** Ranks 0..size-1, one process each, one root; the allreduce summed every rank, the allgather holds every pid in rank order. */
function expectWholeJob(all: RankReport[], size: number): void {
  expect(all.map((r) => r.rank)).toEqual([...Array(size).keys()]);
  expect(new Set(all.map((r) => r.pid)).size).toBe(size);
  for (const r of all) {
    expect(r.size).toBe(size);
    expect(r.root).toEqual(all[0]!.root);
    expect(r.sum).toEqual([(size * (size + 1)) / 2, size]);
    expect(r.pids).toEqual(all.map((x) => x.pid));
    expect(r.pingpong).toBe(r.rank === 0 || r.rank === size - 1 ? 'ok' : null);
  }
}

/** Open MPI refuses to start when the node name is not letters, digits, dots and hyphens (the testbed VM's is "(none)"). */
const OMPI_NODE_NAME = /^[A-Za-z0-9.-]+$/;

/** Runs mpirun as root with `args`; gives it a valid node name in a UTS namespace of its own where the host's is not (the VM's stays as it is). */
function mpirun(args: string[]): Promise<Finished> {
  const argv = ['mpirun', '--allow-run-as-root', '--oversubscribe', ...args];
  return OMPI_NODE_NAME.test(hostname()) ? run(argv[0]!, argv.slice(1)) : run('unshare', ['--uts', 'sh', '-c', 'hostname rdmajs-testbed && exec "$@"', 'sh', ...argv]);
}

describe('launchers', () => {
  it('mpirun -n 4: launcher ompi, ranks 0..3 of 4 on one host, a derived root on 127.0.0.1, allreduce sums all four', async () => {
    const done = await mpirun(['-n', '4', process.execPath, fixture]);
    expect(done, done.stderr).toMatchObject({ code: 0, signal: null });
    const all = reports(done.stdout, false);
    expectWholeJob(all, 4);
    for (const r of all) {
      expect(r.launcher).toBe('ompi');
      expect(r.localSize).toBe(4);
      expect(r.localRank).toBe(r.rank);
    }
    expect(all[0]!.root.host).toBe('127.0.0.1');
    expect(all[0]!.root.port).toBeGreaterThanOrEqual(20_000);
    expect(all[0]!.root.port).toBeLessThanOrEqual(59_999);
  });

  it('mpirun -x RDMAJS_MP_ROOT=host:port -n 2: the given root wins over the derived one', async () => {
    const root = await freePort(process.env.RDMAJS_TESTBED_IP || '127.0.0.1');
    const done = await mpirun(['-x', `RDMAJS_MP_ROOT=${root.host}:${root.port}`, '-n', '2', process.execPath, fixture]);
    expect(done, done.stderr).toMatchObject({ code: 0, signal: null });
    const all = reports(done.stdout, false);
    expectWholeJob(all, 2);
    for (const r of all) expect(r).toMatchObject({ launcher: 'ompi', root });
  });

  it('rdmajs-run -n 3: launcher rdmajs-run, "[r] " prefixes, the root on the testbed address (or loopback), allreduce sums all three', async () => {
    const done = await run(process.execPath, [cli, '-n', '3', '--timeout', '120', '--', process.execPath, fixture]);
    expect(done, done.stderr).toMatchObject({ code: 0, signal: null });
    const all = reports(done.stdout, true);
    expectWholeJob(all, 3);
    for (const r of all) {
      expect(r.launcher).toBe('rdmajs-run');
      expect(r.localSize).toBe(3);
      expect(r.localRank).toBe(r.rank);
    }
    expect(all[0]!.root.host).toBe(process.env.RDMAJS_TESTBED_IP || '127.0.0.1');
  });
});
