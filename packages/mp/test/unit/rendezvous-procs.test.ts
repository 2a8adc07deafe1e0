// The rendezvous across real processes, started the way users start them:
// the supervisor behind rdmajs-run launches N copies of a rank program that
// reads its place from the environment (launchEnv) and exchanges payloads.
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../../src/launch/root.js';
import { supervise } from '../../src/launch/supervisor.js';
import { bundle, scratch } from './fixtures/bundle.js';

const tmp = scratch();
let program = '';
beforeAll(async () => {
  program = await bundle('test/unit/fixtures/rendezvous-rank.ts', join(tmp.dir, 'rendezvous-rank.mjs'));
});
afterAll(() => tmp.remove());

/** Runs `size` ranks of the program; resolves with the exit code, pids and each rank's parsed output line. */
async function launch(size: number, mode: 'exchange' | 'session') {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const job = supervise({
    command: [process.execPath, program],
    size,
    root: await freePort('127.0.0.1'),
    env: { ...process.env, RENDEZVOUS_TEST_MODE: mode, RENDEZVOUS_TEST_TIMEOUT_MS: '10000' },
    timeoutMs: 15_000,
    stdout: (c) => out.push(c),
    stderr: (c) => err.push(c),
    log: (m) => err.push(Buffer.from(m + '\n')),
  });
  const result = await job.result;
  const byRank = new Map<number, unknown>();
  for (const line of Buffer.concat(out).toString().split('\n').filter(Boolean)) {
    const m = /^\[(\d+)\] (.*)$/.exec(line)!;
    byRank.set(Number(m[1]), JSON.parse(m[2]!));
  }
  return { exitCode: result.exitCode, pids: job.pids, byRank, stderr: Buffer.concat(err).toString() };
}

describe('rendezvous between processes', () => {
  it('4 ranks under the launcher: every rank gets the same table of pids', async () => {
    const r = await launch(4, 'exchange');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const expected = r.pids.map((pid, rank) => ({ rank, pid, launcher: 'rdmajs-run', localRank: rank }));
    for (let rank = 0; rank < 4; rank++) expect(r.byRank.get(rank)).toEqual({ table: expected });
  });

  it('3 ranks, a session: allgather, barrier, a second allgather', async () => {
    const r = await launch(3, 'session');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    for (let rank = 0; rank < 3; rank++) {
      expect(r.byRank.get(rank)).toEqual({
        table: r.pids.map((pid, i) => ({ rank: i, pid, launcher: 'rdmajs-run', localRank: i })),
        again: [0, 10, 20],
      });
    }
  });
});
