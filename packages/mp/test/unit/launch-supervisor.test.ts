// The supervisor with real child processes (`node -e`): environment, output
// prefixes, exit codes, fail-fast, SIGTERM → SIGKILL escalation, signal
// forwarding (to the whole process group), timeout, a command that does not
// exist.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { TIMEOUT_EXIT_CODE, exitStatus, supervise, type JobResult, type SuperviseOptions } from '../../src/launch/supervisor.js';

const ROOT = { host: '127.0.0.1', port: 7470 };

/** A job of `node -e script`, its output and notes collected. */
function run(script: string, size: number, extra: Partial<SuperviseOptions> = {}) {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const notes: string[] = [];
  let onOut: (() => void) | undefined;
  const job = supervise({
    command: [process.execPath, '-e', script],
    size,
    root: ROOT,
    graceMs: 2_000,
    stdout: (c) => {
      out.push(c);
      onOut?.();
    },
    stderr: (c) => err.push(c),
    log: (m) => notes.push(m),
    ...extra,
  });
  const stdout = () => Buffer.concat(out).toString();
  return {
    job,
    notes,
    stdout,
    stderr: () => Buffer.concat(err).toString(),
    /** Resolves once `count` stdout lines contain `text`. */
    seen(text: string, count: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (stdout().split('\n').filter((l) => l.includes(text)).length >= count) {
            onOut = undefined;
            resolve();
          }
        };
        onOut = check;
        check();
      });
    },
  };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** Whether `pid` runs (a zombie does not: its parent died and nobody may reap it in a container). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A script's rank, from the environment. */
const RANK = 'const rank = Number(process.env.RDMAJS_MP_RANK);';
/** Keeps a child running until told otherwise. */
const STAY = 'setInterval(() => {}, 1000);';

describe('supervise', () => {
  it('all ranks succeed: exit 0, the environment of each rank, every line prefixed, partial lines flushed', async () => {
    const script = `
      const e = process.env;
      console.log(JSON.stringify({ rank: e.RDMAJS_MP_RANK, size: e.RDMAJS_MP_SIZE, localRank: e.RDMAJS_MP_LOCAL_RANK,
        localSize: e.RDMAJS_MP_LOCAL_SIZE, root: e.RDMAJS_MP_ROOT, kept: e.KEPT }));
      process.stdout.write('two\\nlines\\n');
      process.stdout.write('a partial ');
      setTimeout(() => { process.stdout.write('line\\n'); process.stderr.write('to stderr\\n'); process.stdout.write('no newline at exit'); }, 20);
    `;
    const r = run(script, 3, { env: { ...process.env, KEPT: 'yes', RDMAJS_MP_RANK: '99' } });
    const result = await r.job.result;
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    expect(result.firstFailedRank).toBeUndefined();
    expect(result.ranks.map((o) => [o.rank, o.code, o.signal, o.status])).toEqual([
      [0, 0, null, 0],
      [1, 0, null, 0],
      [2, 0, null, 0],
    ]);
    expect(result.ranks.map((o) => o.pid)).toEqual(r.job.pids);
    const out = lines(r.stdout());
    for (let rank = 0; rank < 3; rank++) {
      const mine = out.filter((l) => l.startsWith(`[${rank}] `)).map((l) => l.slice(`[${rank}] `.length));
      expect(mine).toEqual([
        JSON.stringify({ rank: String(rank), size: '3', localRank: String(rank), localSize: '3', root: '127.0.0.1:7470', kept: 'yes' }),
        'two',
        'lines',
        'a partial line',
        'no newline at exit',
      ]);
    }
    expect(out).toHaveLength(15);
    expect(lines(r.stderr()).sort()).toEqual(['[0] to stderr', '[1] to stderr', '[2] to stderr']);
    expect(r.notes).toEqual([]);
  });

  it('one rank exits 3: the job exits 3 and the others are stopped at once', async () => {
    const script = `${RANK} console.log('up'); if (rank === 1) setTimeout(() => process.exit(3), 100); else ${STAY}`;
    const t0 = Date.now();
    const r = run(script, 4, { graceMs: 10_000 });
    const result = await r.job.result;
    expect(Date.now() - t0).toBeLessThan(10_000); // "at once": not after the 10 s grace period (no fixed speed asserted)
    expect(result.exitCode).toBe(3);
    expect(result.firstFailedRank).toBe(1);
    for (const o of result.ranks) {
      if (o.rank === 1) expect([o.code, o.signal]).toEqual([3, null]);
      else expect([o.code, o.signal, o.status]).toEqual([null, 'SIGTERM', 143]);
    }
    expect(r.notes).toEqual(['rank 1 exited with code 3; stopping the other 3 rank(s)']);
  });

  it('a rank killed by a signal: 128 + its number', async () => {
    const r = run(`${RANK} if (rank === 0) process.kill(process.pid, 'SIGKILL'); else ${STAY}`, 2);
    const result = await r.job.result;
    expect(result.exitCode).toBe(137);
    expect(result.ranks[0]).toMatchObject({ signal: 'SIGKILL', status: 137 });
    expect(r.notes[0]).toBe('rank 0 was killed by SIGKILL; stopping the other 1 rank(s)');
  });

  it('ranks that ignore SIGTERM get SIGKILL after the grace period', async () => {
    // Rank 0 fails only once every rank has its handler (told by a file): a
    // slow start would otherwise meet the SIGTERM with no handler yet.
    const go = join(mkdtempSync(join(tmpdir(), 'supervise-')), 'go');
    const script = `${RANK} process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready');
      if (rank === 0) setInterval(() => require('node:fs').existsSync(${JSON.stringify(go)}) && process.exit(5), 10); ${STAY}`;
    // No timing asserted (a loaded machine stretches it): the SIGKILLs and the note prove the grace period ran out.
    const r = run(script, 3, { graceMs: 300 });
    await r.seen('ready', 3);
    writeFileSync(go, '');
    const result = await r.job.result;
    expect(result.exitCode).toBe(5);
    expect(result.ranks.slice(1).map((o) => o.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    expect(lines(r.stdout()).filter((l) => l.endsWith('ignoring SIGTERM')).sort()).toEqual(['[1] ignoring SIGTERM', '[2] ignoring SIGTERM']);
    expect(r.notes[1]).toBe('ranks 1, 2 still running 300 ms after SIGTERM: sending SIGKILL');
  });

  it('forwards SIGTERM to every rank; ranks that handle it decide the exit code', async () => {
    const script = `${RANK} process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); }); console.log('ready'); ${STAY}`;
    const r = run(script, 3);
    await r.seen('ready', 3);
    r.job.forward('SIGTERM');
    const result = await r.job.result;
    expect(result.exitCode).toBe(0);
    expect(lines(r.stdout()).filter((l) => l.endsWith('got SIGTERM')).sort()).toEqual(['[0] got SIGTERM', '[1] got SIGTERM', '[2] got SIGTERM']);
  });

  it('forwards SIGINT with default handling: 130; a second signal kills at once', async () => {
    const r = run(`console.log('ready'); ${STAY}`, 2);
    await r.seen('ready', 2);
    r.job.forward('SIGINT');
    expect((await r.job.result).exitCode).toBe(130);

    const stubborn = run(`process.on('SIGINT', () => console.log('not yet')); console.log('ready'); ${STAY}`, 2, { graceMs: 20_000 });
    await stubborn.seen('ready', 2);
    stubborn.job.forward('SIGINT');
    await stubborn.seen('not yet', 2);
    const t0 = Date.now();
    stubborn.job.forward('SIGINT');
    const result = await stubborn.job.result;
    expect(Date.now() - t0).toBeLessThan(10_000); // at once, not after the 20 s grace period
    expect(result.ranks.map((o) => o.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    expect(stubborn.notes).toEqual(['SIGINT again: killing all ranks']);
  });

  it('a forwarded signal reaches what a rank started (its process group)', async () => {
    // Each rank starts a grandchild that sleeps, prints its pid, and waits.
    const script = `
      const { spawn } = require('node:child_process');
      const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      console.log('grandchild ' + g.pid);
      ${STAY}`;
    const r = run(script, 2);
    await r.seen('grandchild', 2);
    const pids = lines(r.stdout()).map((l) => Number(l.split(' ').pop()));
    expect(pids.every(alive)).toBe(true);
    r.job.forward('SIGHUP');
    expect((await r.job.result).exitCode).toBe(129);
    for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pids.filter(alive)).toEqual([]);
  });

  it('--timeout: stops every rank and exits 124', async () => {
    const t0 = Date.now();
    const r = run(STAY, 2, { timeoutMs: 300 });
    const result = await r.job.result;
    expect(Date.now() - t0).toBeLessThan(10_000); // a bound far from the 0.3 s: a loaded machine starts Node slowly
    expect(result).toMatchObject({ exitCode: TIMEOUT_EXIT_CODE, timedOut: true });
    expect(result.ranks.map((o) => o.signal)).toEqual(['SIGTERM', 'SIGTERM']);
    expect(r.notes).toEqual(['timed out after 0.3 s; stopping all ranks']);
  });

  it('a command that does not exist: 127, no pids, nothing hangs', async () => {
    const job = supervise({ command: ['rdmajs-no-such-command-xyz'], size: 2, root: ROOT, log: () => {}, stdout: () => {}, stderr: () => {} });
    const result: JobResult = await job.result;
    expect(result.exitCode).toBe(127);
    expect(result.ranks.map((o) => o.pid)).toEqual([undefined, undefined]);
  });

  it('refuses bad options at once; exitStatus maps signals', () => {
    expect(() => supervise({ command: [], size: 1, root: ROOT })).toThrow(TypeError);
    expect(() => supervise({ command: ['x'], size: 0, root: ROOT })).toThrow(RangeError);
    expect(() => supervise({ command: ['x'], size: 1, root: ROOT, timeoutMs: 0 })).toThrow(RangeError);
    expect(() => supervise({ command: ['x'], size: 4, root: ROOT, ranks: { first: 2, last: 4 } })).toThrow(/ranks must be a range within 0\.\.3, got 2\.\.4/);
    expect(() => supervise({ command: ['x'], size: 4, root: ROOT, ranks: { first: 2, last: 1 } })).toThrow(RangeError);
    expect(() => supervise({ command: ['x'], size: 4, root: ROOT, ranks: { first: -1, last: 1 } })).toThrow(RangeError);
    expect(exitStatus(0, null)).toBe(0);
    expect(exitStatus(3, null)).toBe(3);
    expect(exitStatus(null, 'SIGTERM')).toBe(143);
    expect(exitStatus(null, 'SIGSEGV')).toBe(139);
  });
});
