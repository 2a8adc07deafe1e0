// rdmajs-run --testbed and --testbed-pair, the way a user runs them: the
// built CLI on the host boots the VM(s) and starts an rdmajs-run inside
// each, whose ranks (../device/fixtures/allreduce-rank.mjs) join the job
// with init() and allreduce over rxe, across the virtual cable for the pair.
// Runs on the host, always through qemu.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { TESTBED_IP, TESTBED_PAIR_IPS } from '../../../testbed/src/index.js';
import { TESTBED_PAIR_ROOT_PORT } from '../../src/launch/args.js';

const cli = fileURLToPath(new URL('../../dist/launch/cli.js', import.meta.url));
const fixture = fileURLToPath(new URL('../device/fixtures/allreduce-rank.mjs', import.meta.url));
const repo = fileURLToPath(new URL('../../../..', import.meta.url));

/** Bound of one launcher run: VM boots under emulation, with other VMs booting on the machine too. */
const RUN_TIMEOUT_MS = 480_000;

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built rdmajs-run to its end; SIGTERM after RUN_TIMEOUT_MS (the testbed then kills its VMs) fails the test. */
function rdmajsRun(args: string[]): Promise<Finished> {
  return new Promise<Finished>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`rdmajs-run ${args.join(' ')} did not finish in ${RUN_TIMEOUT_MS / 1000} s\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface RankReport {
  rank: number;
  size: number;
  launcher: string;
  localRank: number;
  localSize: number;
  root: { host: string; port: number };
  pid: number;
  ip: string | null;
  sum: number[];
  pids: number[];
  /** `'ok'` on the first and last rank once their echoes came back intact; null elsewhere. */
  pingpong: string | null;
}

/** Each stdout line is `[r] ` and rank r's JSON line; returns them in rank order. */
function reports(stdout: string): RankReport[] {
  const out: RankReport[] = [];
  for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
    const m = /^\[(\d+)\] (\{.*\})$/.exec(line);
    if (m === null) throw new Error(`unexpected output line: ${JSON.stringify(line)}`);
    const report = JSON.parse(m[2]!) as RankReport;
    expect(report.rank).toBe(Number(m[1]));
    out.push(report);
  }
  return out.sort((x, y) => x.rank - y.rank);
}

function expectWholeJob(all: RankReport[], size: number): void {
  expect(all.map((r) => r.rank)).toEqual([...Array(size).keys()]);
  for (const r of all) {
    expect(r).toMatchObject({ size, launcher: 'rdmajs-run', root: all[0]!.root, sum: [(size * (size + 1)) / 2, size] });
    expect(r.pids).toEqual(all.map((x) => x.pid));
    expect(r.pingpong).toBe(r.rank === 0 || r.rank === size - 1 ? 'ok' : null);
  }
}

describe('rdmajs-run in the testbed', () => {
  it('--testbed -n 4: four ranks in one VM, rooted on its rxe address, allreduce over rxe0; exit 0', async () => {
    const done = await rdmajsRun(['--testbed', '-n', '4', '--timeout', '240', '--', process.execPath, fixture]);
    console.log(done.stderr + done.stdout);
    expect(done.code, done.stderr).toBe(0);
    const all = reports(done.stdout);
    expectWholeJob(all, 4);
    for (const r of all) expect(r).toMatchObject({ localRank: r.rank, localSize: 4, ip: TESTBED_IP });
    expect(all[0]!.root.host).toBe(TESTBED_IP);
    expect(done.stderr).toMatch(/\[rdmajs-testbed\] rxe0 ready in/);
  });

  it('--testbed-pair -n 4: ranks 0-1 on A, 2-3 on B, rooted on A; allreduce and ping-pong across the two hosts; exit 0', async () => {
    const done = await rdmajsRun(['--testbed-pair', '-n', '4', '--timeout', '240', '--', process.execPath, fixture]);
    console.log(done.stderr + done.stdout);
    expect(done.code, done.stderr).toBe(0);
    const all = reports(done.stdout);
    expectWholeJob(all, 4);
    expect(all.map((r) => r.ip)).toEqual([TESTBED_PAIR_IPS.a, TESTBED_PAIR_IPS.a, TESTBED_PAIR_IPS.b, TESTBED_PAIR_IPS.b]);
    expect(all.map((r) => [r.localRank, r.localSize])).toEqual([
      [0, 2],
      [1, 2],
      [0, 2],
      [1, 2],
    ]);
    expect(all[0]!.root).toEqual({ host: TESTBED_PAIR_IPS.a, port: TESTBED_PAIR_ROOT_PORT });
    expect(done.stderr).toContain(`rdmajs-run: ranks 0-1 on VM A, 2-3 on VM B; rendezvous ${TESTBED_PAIR_IPS.a}:${TESTBED_PAIR_ROOT_PORT}\n`);
  });

  it('--testbed: a failing rank\'s exit code comes back out of the VM, with the inner launcher\'s note', async () => {
    const failing = 'const r = Number(process.env.RDMAJS_MP_RANK); console.log("rank " + r + " here"); process.exit(r === 1 ? 5 : 0)';
    const done = await rdmajsRun(['--testbed', '-n', '2', '--', process.execPath, '-e', failing]);
    expect(done.code, done.stderr).toBe(5);
    // The VM merges the ranks' stdout and stderr: the note arrives on stdout.
    expect(done.stdout).toMatch(/^\[1\] rank 1 here$/m);
    expect(done.stdout).toMatch(/rdmajs-run: rank 1 exited with code 5/);
  });
});
