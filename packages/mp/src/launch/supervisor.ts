/**
 * Runs the N ranks of a local job and watches over them: output prefixed
 * per rank, signals forwarded, fail-fast when a rank fails, a timeout, and
 * one exit code for the whole job.
 *
 * Each rank runs in its own process group, so a signal reaches everything
 * the rank started (e.g. `sh -c "node app.js"`), and a terminal's Ctrl-C
 * reaches the ranks once, through the launcher, instead of twice. Ranks get
 * no stdin (like mpirun's ranks other than 0).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

import { formatRanks } from '../bootstrap/format.js';
import type { HostPort } from '../types.js';
import { LinePrefixer } from './lines.js';
import { rankEnv } from './rank-env.js';

/** Signals the launcher passes on to the ranks. */
export type ForwardedSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** Every {@link ForwardedSignal}. */
export const FORWARDED_SIGNALS: readonly ForwardedSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Time between SIGTERM and SIGKILL when stopping ranks. */
export const DEFAULT_GRACE_MS = 5_000;

/** Exit code of a job stopped by its timeout (as `timeout(1)`). */
export const TIMEOUT_EXIT_CODE = 124;

/** Exit code of a rank whose command could not be started because it does not exist (as a shell). */
export const NOT_FOUND_EXIT_CODE = 127;

/** Exit code of a rank whose command exists but could not be started (as a shell). */
export const NOT_EXECUTABLE_EXIT_CODE = 126;

/** After the last rank exits, how long to wait for output still in its pipes (a grandchild may hold them open). */
const OUTPUT_DRAIN_MS = 1_000;

/** Options of {@link supervise}. */
export interface SuperviseOptions {
  /** Program and arguments, run once per rank (no shell). */
  command: readonly string[];
  /** Number of ranks in the job. */
  size: number;
  /** Start only ranks `first..last` of the job here (default: all); the others run elsewhere. */
  ranks?: { first: number; last: number };
  /** Rendezvous address passed as `RDMAJS_MP_ROOT`. */
  root: HostPort;
  /** Environment the ranks' is built on (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the ranks (default: the launcher's). */
  cwd?: string;
  /** Stop all ranks after this many ms; the job then exits {@link TIMEOUT_EXIT_CODE}. */
  timeoutMs?: number;
  /** SIGTERM → SIGKILL delay when stopping ranks (default {@link DEFAULT_GRACE_MS}). */
  graceMs?: number;
  /** Receives the ranks' prefixed stdout lines (default: `process.stdout`). */
  stdout?: (chunk: Buffer) => void;
  /** Receives the ranks' prefixed stderr lines (default: `process.stderr`). */
  stderr?: (chunk: Buffer) => void;
  /** Receives the launcher's own notes, one sentence each (default: `rdmajs-run: …` on stderr). */
  log?: (message: string) => void;
}

/** How one rank ended. */
export interface RankOutcome {
  rank: number;
  /** Undefined when the command could not be started. */
  pid: number | undefined;
  /** Exit code, when it exited by itself. */
  code: number | null;
  /** Signal that ended it, when one did. */
  signal: NodeJS.Signals | null;
  /** The status as a shell reports it: `code`, or 128 + signal number, or 126/127 for a failed start. */
  status: number;
}

/** How the job ended. */
export interface JobResult {
  /** The first failing rank's status, {@link TIMEOUT_EXIT_CODE} after a timeout, else 0. */
  exitCode: number;
  /** The rank whose failure decided `exitCode`, if one did. */
  firstFailedRank?: number;
  timedOut: boolean;
  /** Every rank's outcome, in rank order (index 0 is the first rank started here). */
  ranks: RankOutcome[];
}

/** A running job. */
export interface Job {
  /** Process ids in rank order, as in {@link JobResult.ranks} (undefined for a rank that could not be started). */
  readonly pids: readonly (number | undefined)[];
  /**
   * Passes `signal` to every rank still running, and SIGKILLs those that
   * outlive the grace period; a second call (or one while fail-fast is
   * already stopping the ranks) SIGKILLs them at once. Never throws.
   */
  forward(signal: ForwardedSignal): void;
  /** Settles when every rank has exited and its output is written; never rejects. */
  readonly result: Promise<JobResult>;
}

/** A rank's exit as a shell status: the code, or 128 + the signal's number. Never throws. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal !== null) return 128 + (constants.signals[signal] ?? 0);
  return 1;
}

interface RankState {
  rank: number;
  child: ChildProcess;
  exited: boolean;
  /** stdout and stderr not yet ended. */
  openStreams: number;
  outcome: RankOutcome | undefined;
  out: LinePrefixer;
  err: LinePrefixer;
}

/**
 * Starts the ranks `ranks.first..ranks.last` (default `0..size-1`) of `command`, rank `r` with
 * `rankEnv(env, { rank: r, size, localRank: r - first, localSize: last - first + 1, root })`. When a
 * rank fails (non-zero exit, a signal, or a failed start), the others get SIGTERM and, after `graceMs`,
 * SIGKILL. Does not touch the launcher's own signal handlers: the caller routes its signals to
 * {@link Job.forward}.
 * @throws TypeError / RangeError (synchronously) for an empty command, a size below 1, a rank range outside
 *   `0..size-1`, or a negative timeout.
 */
export function supervise(options: SuperviseOptions): Job {
  const { command, size, root } = options;
  if (!Array.isArray(command) || command.length === 0 || typeof command[0] !== 'string' || command[0] === '') {
    throw new TypeError('command must be a non-empty array of strings');
  }
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${String(size)}`);
  const first = options.ranks?.first ?? 0;
  const last = options.ranks?.last ?? size - 1;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || last < first || last >= size) {
    throw new RangeError(`ranks must be a range within 0..${size - 1}, got ${String(first)}..${String(last)}`);
  }
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  if (!(graceMs >= 0)) throw new RangeError(`graceMs must be >= 0, got ${String(graceMs)}`);
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0 && options.timeoutMs <= 0x7fff_ffff)) {
    throw new RangeError(`timeoutMs must be in (0, 2^31), got ${String(options.timeoutMs)}`);
  }
  const writeOut = options.stdout ?? ((chunk: Buffer) => void process.stdout.write(chunk));
  const writeErr = options.stderr ?? ((chunk: Buffer) => void process.stderr.write(chunk));
  const log = options.log ?? ((message: string) => void process.stderr.write(`rdmajs-run: ${message}\n`));
  const base = options.env ?? process.env;

  const ranks: RankState[] = [];
  let firstFailure: RankOutcome | undefined;
  let timedOut = false;
  /** SIGTERM (or a forwarded signal) has gone out; the next forwarded signal escalates to SIGKILL. */
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let finished = false;
  let resolveResult!: (result: JobResult) => void;
  const result = new Promise<JobResult>((resolve) => (resolveResult = resolve));

  const running = () => ranks.filter((r) => !r.exited);

  /** Signals a rank's whole process group; falls back to the process if the group is gone. */
  const signalRank = (r: RankState, signal: NodeJS.Signals) => {
    const pid = r.child.pid;
    if (pid === undefined || r.exited) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        r.child.kill(signal);
      } catch {
        // Already gone: its exit event is on the way.
      }
    }
  };

  const killAll = () => {
    for (const r of running()) signalRank(r, 'SIGKILL');
  };

  /** Sends `signal` to every running rank and arms the SIGKILL that follows `graceMs` later. */
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const r of running()) signalRank(r, signal);
    if (killTimer === undefined && running().length > 0) {
      killTimer = setTimeout(() => {
        const left = running();
        if (left.length > 0) {
          log(`${formatRanks(left.map((r) => r.rank))} still running ${graceMs} ms after ${signal}: sending SIGKILL`);
          killAll();
        }
      }, graceMs);
    }
  };

  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(killTimer);
    clearTimeout(timeoutTimer);
    clearTimeout(drainTimer);
    const outcomes = ranks.map((r) => r.outcome!);
    const out: JobResult = {
      exitCode: timedOut ? TIMEOUT_EXIT_CODE : (firstFailure?.status ?? 0),
      timedOut,
      ranks: outcomes,
    };
    if (!timedOut && firstFailure !== undefined) out.firstFailedRank = firstFailure.rank;
    resolveResult(out);
  };

  const maybeFinish = () => {
    if (finished || running().length > 0) return;
    clearTimeout(killTimer);
    clearTimeout(timeoutTimer);
    if (ranks.every((r) => r.openStreams === 0)) return finish();
    // A grandchild that inherited a rank's stdout can keep the pipe open forever; wait a little, then stop reading.
    drainTimer ??= setTimeout(() => {
      for (const r of ranks) {
        r.child.stdout?.destroy();
        r.child.stderr?.destroy();
        r.out.flush();
        r.err.flush();
      }
      finish();
    }, OUTPUT_DRAIN_MS);
  };

  const onRankEnd = (r: RankState, code: number | null, signal: NodeJS.Signals | null, startError?: NodeJS.ErrnoException) => {
    if (r.exited) return;
    r.exited = true;
    const status =
      startError !== undefined ? (startError.code === 'ENOENT' ? NOT_FOUND_EXIT_CODE : NOT_EXECUTABLE_EXIT_CODE) : exitStatus(code, signal);
    r.outcome = { rank: r.rank, pid: r.child.pid, code, signal, status };
    if (status !== 0 && firstFailure === undefined && !timedOut) {
      firstFailure = r.outcome;
      // Once the launcher is stopping the ranks (a forwarded signal), their deaths are no news.
      if (!stopping) {
        const how =
          startError !== undefined ? `could not be started (${startError.message})` : signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        const others = running().length;
        log(`rank ${r.rank} ${how}${others > 0 ? `; stopping the other ${others} rank(s)` : ''}`);
        stop('SIGTERM');
      }
    }
    maybeFinish();
  };

  for (let rank = first; rank <= last; rank++) {
    const child = spawn(command[0]!, command.slice(1), {
      env: rankEnv(base, { rank, size, localRank: rank - first, localSize: last - first + 1, root }),
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group (see the module comment)
    });
    const state: RankState = {
      rank,
      child,
      exited: false,
      openStreams: 2,
      outcome: undefined,
      out: new LinePrefixer(`[${rank}] `, writeOut),
      err: new LinePrefixer(`[${rank}] `, writeErr),
    };
    ranks.push(state);
    for (const [stream, prefixer] of [
      [child.stdout!, state.out],
      [child.stderr!, state.err],
    ] as const) {
      stream.on('data', (chunk: Buffer) => prefixer.push(chunk));
      stream.on('error', () => {}); // e.g. destroyed by the drain timer
      stream.once('close', () => {
        prefixer.flush();
        state.openStreams--;
        maybeFinish();
      });
    }
    child.on('exit', (code, signal) => onRankEnd(state, code, signal));
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Without a pid the process never started; with one, this is a failed kill() and its exit still comes.
      if (child.pid === undefined) onRankEnd(state, null, null, err);
    });
  }

  if (options.timeoutMs !== undefined) {
    timeoutTimer = setTimeout(() => {
      if (running().length === 0) return;
      timedOut = true;
      log(`timed out after ${options.timeoutMs! / 1000} s; stopping all ranks`);
      if (stopping) killAll();
      else stop('SIGTERM');
    }, options.timeoutMs);
  }

  return {
    pids: ranks.map((r) => r.child.pid),
    forward(signal: ForwardedSignal): void {
      if (finished) return;
      if (stopping) {
        log(`${signal} again: killing all ranks`);
        killAll();
        return;
      }
      stop(signal);
    },
    result,
  };
}
