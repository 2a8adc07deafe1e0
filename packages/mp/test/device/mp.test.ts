// @rdmajs/mp on a real device: ranks are real processes on rxe0 (the
// testbed VM under `npm test`), started by rdmajs-run or, where a rank must
// die without the launcher reacting, spawned here with the launcher's
// variables. Every fixture prints JSON lines ({ rank, check, ok, ... }).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { freePort } from '../../src/launch/root.js';

const cli = fileURLToPath(new URL('../../dist/launch/cli.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Bound of one job: several Node processes under emulation. */
const JOB_TIMEOUT_MS = 170_000;

interface Line {
  rank?: number;
  check: string;
  ok?: boolean;
  [key: string]: unknown;
}

interface Job {
  code: number | null;
  lines: Line[];
  output: string;
}

/** Runs processes to their end (killed after JOB_TIMEOUT_MS) and parses their JSON lines. */
function runAll(commands: { args: string[]; env?: NodeJS.ProcessEnv }[]): Promise<Job[]> {
  return Promise.all(
    commands.map(
      ({ args, env }) =>
        new Promise<Job>((resolve, reject) => {
          const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
          let output = '';
          child.stdout.on('data', (d: Buffer) => (output += d));
          child.stderr.on('data', (d: Buffer) => (output += d));
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`${args.join(' ')} did not finish within ${JOB_TIMEOUT_MS / 1000} s:\n${output}`));
          }, JOB_TIMEOUT_MS);
          child.on('close', (code) => {
            clearTimeout(timer);
            const lines: Line[] = [];
            for (const raw of output.split('\n')) {
              const json = raw.replace(/^\[\d+\] /, '');
              if (json.startsWith('{')) lines.push(JSON.parse(json) as Line);
            }
            resolve({ code, lines, output });
          });
        }),
    ),
  );
}

/** `rdmajs-run -n <n> -- node <fixture> ...args`. */
async function launch(n: number, name: string, args: (string | number)[] = []): Promise<Job> {
  const [job] = await runAll([{ args: [cli, '-n', String(n), '--', process.execPath, fixture(name), ...args.map(String)] }]);
  return job!;
}

/** Every check line is ok, and each rank reported `closed`. */
function expectAllOk(job: Job, n: number, minChecks: number): void {
  expect(job.code, job.output).toBe(0);
  const bad = job.lines.filter((l) => l.ok !== true);
  expect(bad, job.output).toEqual([]);
  expect(job.lines.length).toBeGreaterThanOrEqual(minChecks);
  for (let r = 0; r < n; r++) expect(job.lines.some((l) => l.rank === r && l.check === 'closed'), `rank ${r} closed`).toBe(true);
}

describe('@rdmajs/mp on the device', () => {
  for (const n of [1, 2, 3, 4, 5, 8]) {
    it(`every collective equals the serial computation on ${n} rank(s), small and large vectors`, async () => {
      const job = await launch(n, 'collectives.mjs');
      // Per rank: 24 allreduce checks and 5 others per vector size, plus barrier, overlap, split, closed.
      expectAllOk(job, n, n * 30);
      expect(job.lines.filter((l) => l.check.startsWith('allreduce')).length).toBe(n * ((n > 5 ? 15 : 16) + 8));
    });
  }

  it('matching: 10,000 random messages among 4 ranks, wildcards included, follow MPI rules', async () => {
    const job = await launch(4, 'matching.mjs', [10_000, 20261203]);
    expect(job.code, job.output).toBe(0);
    const reports = job.lines.filter((l) => l.check === 'matching');
    expect(reports.length).toBe(4);
    for (const r of reports) expect(r, job.output).toMatchObject({ ok: true, bad: 0 });
    expect(reports.reduce((a, r) => a + (r.received as number), 0)).toBe(10_000);
  });

  it('rendezvous: 256 MiB SHA-256 verified, zero-length, truncation is ETRUNC with the real length', async () => {
    const job = await launch(2, 'rendezvous.mjs');
    expectAllOk(job, 2, 7);
    const checks = job.lines.map((l) => l.check);
    for (const c of ['256 MiB sha256', 'zero length', 'truncation 100', 'truncation 50000', 'unregistrable source', 'after truncation']) expect(checks).toContain(c);
  });

  for (const victim of [2, 0]) {
    it(`a rank SIGKILLed mid-allreduce (rank ${victim}): every other rank's operation rejects with EPEERDEAD, close() works`, async () => {
      const size = 4;
      const { host, port } = await freePort('127.0.0.1');
      const root = `${host}:${port}`;
      const jobs = await runAll(
        Array.from({ length: size }, (_, rank) => ({
          args: [fixture('fault.mjs'), String(victim)],
          env: { RDMAJS_MP_RANK: String(rank), RDMAJS_MP_SIZE: String(size), RDMAJS_MP_ROOT: root },
        })),
      );
      for (let rank = 0; rank < size; rank++) {
        const job = jobs[rank]!;
        if (rank === victim) {
          expect(job.code, job.output).toBe(null); // killed by its signal
          continue;
        }
        expect(job.code, job.output).toBe(0);
        const err = job.lines.find((l) => l.check === 'error');
        expect(err, job.output).toMatchObject({ code: 'EPEERDEAD' });
        expect(err!.message as string).toMatch(new RegExp(`rank ${victim}\\b`));
        expect(job.lines.some((l) => l.check === 'closed'), job.output).toBe(true);
      }
    });
  }

  it('connections are made on first use: ranks that never talked have no RC queue pair', async () => {
    const job = await launch(4, 'lazy.mjs');
    expect(job.code, job.output).toBe(0);
    const lazy = job.lines.filter((l) => l.check === 'lazy').sort((a, b) => a.rank! - b.rank!);
    expect(lazy.map((l) => [l.rank, l.rc, l.ud]), job.output).toEqual([
      [0, 1, 1],
      [1, 1, 1],
      [2, 0, 1],
      [3, 0, 1],
    ]);
    const after = job.lines.filter((l) => l.check === 'after allgather');
    expect(after.length).toBe(4);
    for (const l of after) expect(l.rc as number).toBeGreaterThanOrEqual(1);
  });

  it('close() after the peer has closed: the frame no one will acknowledge fails fast (rxe retries "7" forever)', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'mp-close-')), 'rank1-closed');
    const job = await launch(2, 'close-after-peer.mjs', [marker]);
    expect(job.code, job.output).toBe(0);
    const line = job.lines.find((l) => l.check === 'closed after peer');
    expect(line, job.output).toMatchObject({ rank: 0, ok: true });
    // The drain bound is 10 s; 7 ACK timeouts of ~67 ms end it far sooner.
    expect(line!.closeMs as number, job.output).toBeLessThan(5_000);
  });

  it('a peer that never answers the connection handshake (event loop blocked) fails the send within connectTimeoutMs', async () => {
    const job = await launch(2, 'connect-timeout.mjs');
    const line = job.lines.find((l) => l.check === 'connect timeout');
    expect(line, job.output).toMatchObject({ ok: true });
  });

  it('a rank that never starts: init() times out naming the missing rank', async () => {
    const { host, port } = await freePort('127.0.0.1');
    const root = `${host}:${port}`;
    const env = (rank: number) => ({ RDMAJS_MP_RANK: String(rank), RDMAJS_MP_SIZE: '3', RDMAJS_MP_ROOT: root });
    const [r0, r1] = await runAll([
      { args: [fixture('init-timeout.mjs'), '4000'], env: env(0) },
      { args: [fixture('init-timeout.mjs'), '4000'], env: env(1) },
    ]);
    const e0 = r0!.lines.find((l) => l.check === 'init');
    expect(e0, r0!.output).toMatchObject({ code: 'ETIMEDOUT' });
    expect(e0!.message as string).toMatch(/rank 2 never connected/);
    const e1 = r1!.lines.find((l) => l.check === 'init');
    expect(e1, r1!.output).toMatchObject({ code: expect.stringMatching(/^(ETIMEDOUT|EPEERDEAD)$/) });
  });
});
