/**
 * The options of the OSU-style benchmark (mp/osu.ts) and of its C twin
 * packages/bench/anchors/osu.c: the same flags, defaults, sizes and
 * iteration scaling on both sides, and the JSON line they print.
 * @module
 */
import { scanArgs, type FlagSpec } from '../args.js';

export type OsuTest = 'latency' | 'bw' | 'allreduce';

export interface OsuOptions {
  test: OsuTest;
  /** Message sizes in bytes (allreduce: multiples of 8). */
  sizes: number[];
  /** Iterations for sizes <= 8 KiB; scaled down above (see {@link scaledIterations}). */
  iterations: number;
  /** The least iterations of any size. */
  minIterations: number;
  /** Warm-up iterations for sizes <= 8 KiB, scaled alike. */
  warmup: number;
  /** bw: messages in flight per iteration. */
  window: number;
  /** More untimed iterations of the first size before it (`-j`): time for the JIT to settle. */
  jitWarmup: number;
}

export const osuUsage = 'usage: mp-osu latency|bw|allreduce [-s sizes] [-M max] [-n iters] [-m min] [-w warmup] [-W window] [-j rounds]';

/** Sizes up to this run the full iteration count. */
export const OSU_SMALL = 8192;

const DEFAULT_ITERATIONS: Record<OsuTest, number> = { latency: 1000, bw: 100, allreduce: 500 };

/** `"64K"` -> 65536; K and M suffixes (binary). */
export function parseSize(s: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new RangeError(`bad size '${s}'`);
  const v = Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1024 : 1024 * 1024);
  if (!Number.isSafeInteger(v) || v > 0x7fffffff) throw new RangeError(`size too large: '${s}'`);
  return v;
}

/** Iterations (or warm-up rounds) for one size: n up to 8 KiB, then n * 8 KiB / size, never below min. */
export function scaledIterations(n: number, min: number, bytes: number): number {
  const it = bytes <= OSU_SMALL ? n : Math.trunc((n * OSU_SMALL) / bytes);
  return Math.max(it, min);
}

function count(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${flag} must be an integer >= 1, got '${v}'`);
  return n;
}

/** osu.c's flags: all take a value. */
const FLAGS: Record<string, FlagSpec> = Object.fromEntries(['s', 'M', 'n', 'm', 'w', 'W', 'j'].map((f) => [f, { type: 'string', short: f }]));

/**
 * Parses `<test> [options]` as osu.c does.
 * @throws RangeError for a bad test, an unknown option, a missing or bad value.
 */
export function parseOsuArgs(argv: readonly string[]): OsuOptions {
  const { positionals, given } = scanArgs(argv, FLAGS, (m) => new RangeError(m));
  const [test, extra] = positionals;
  if (test !== 'latency' && test !== 'bw' && test !== 'allreduce') throw new RangeError('test must be latency, bw or allreduce');
  if (extra !== undefined) throw new RangeError(`unexpected argument '${extra}'`);
  const value = (f: string) => given.get(f) as string | undefined;
  const opt = <T>(f: string, parse: (flag: string, v: string) => T, fallback: T): T => {
    const v = value(f);
    return v === undefined ? fallback : parse(`-${f}`, v);
  };
  const list = value('s');
  const max = opt('M', (_f, v) => parseSize(v), 4 * 1024 * 1024);
  const iterations = opt('n', count, DEFAULT_ITERATIONS[test]);
  const minIterations = opt('m', count, 5);
  const warmup = opt('w', count, Math.max(1, Math.trunc(iterations / 10)));
  const window = opt('W', count, 64);
  const jitWarmup = opt('j', (f, v) => (v === '0' ? 0 : count(f, v)), 0);
  const sizes: number[] = [];
  if (list !== undefined) sizes.push(...list.split(',').map(parseSize));
  else for (let s = test === 'allreduce' ? 8 : 1; s <= max; s *= 2) sizes.push(s);
  if (test === 'allreduce' && sizes.some((s) => s % 8 !== 0)) throw new RangeError('allreduce sizes must be multiples of 8');
  return { test, sizes, iterations, minIterations, warmup, window, jitWarmup };
}

/** One output line: JSON with figures rounded to 3 decimals, as osu.c prints them. */
export function osuLine(fields: Record<string, string | number>): string {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v;
  return JSON.stringify(out);
}
