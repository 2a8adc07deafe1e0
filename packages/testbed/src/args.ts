/**
 * Command-line parsing of `rdmajs-testbed` (no side effects, for tests).
 * @module
 */
import { parseTiming } from './timing.js';
import type { VmOptions } from './vm.js';

/** The options `run`, `auto` and `pair` take before `--`. */
export type CliFlags = Pick<VmOptions, 'memoryMiB' | 'cpus' | 'timeoutMs' | 'quiet' | 'timing'>;

/** Separates host A's command from host B's in `pair`. */
export const PAIR_SEPARATOR = '---';

/** Parses `--memory MiB`, `--cpus N`, `--timeout s`, `--timing threaded|deterministic`, `--quiet`. */
export function parseFlags(flags: string[]): CliFlags {
  const opts: CliFlags = {};
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    const num = () => {
      const v = Number(flags[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag} needs a positive number`);
      return v;
    };
    if (flag === '--memory') opts.memoryMiB = num();
    else if (flag === '--cpus') opts.cpus = num();
    else if (flag === '--timeout') opts.timeoutMs = num() * 1000;
    else if (flag === '--quiet') opts.quiet = true;
    else if (flag === '--timing') {
      const v = flags[++i];
      if (v === undefined) throw new Error('--timing needs a mode: threaded or deterministic');
      opts.timing = parseTiming(v, '--timing');
    }
    else throw new Error(`unknown option ${flag}`);
  }
  return opts;
}

/** Splits at the first `--`: flags before, the rest after (all of it is the rest when there is no `--`). */
function splitFlags(argv: string[]): [CliFlags, string[]] {
  const sep = argv.indexOf('--');
  return sep >= 0 ? [parseFlags(argv.slice(0, sep)), argv.slice(sep + 1)] : [{}, argv];
}

/** `run`/`auto`: `[flags] -- <command...>`. */
export function parseRunArgs(argv: string[]): CliFlags & { command: string[] } {
  const [flags, command] = splitFlags(argv);
  if (command.length === 0) throw new Error('no command given (put it after --)');
  return { ...flags, command };
}

/** `pair`: `[flags] -- <command for A...> --- <command for B...>`. */
export function parsePairArgs(argv: string[]): CliFlags & { a: string[]; b: string[] } {
  const [flags, rest] = splitFlags(argv);
  const sep = rest.indexOf(PAIR_SEPARATOR);
  if (sep < 0) throw new Error(`pair needs two commands: -- <command for A> ${PAIR_SEPARATOR} <command for B>`);
  const a = rest.slice(0, sep);
  const b = rest.slice(sep + 1);
  if (a.length === 0) throw new Error(`no command for host A (before ${PAIR_SEPARATOR})`);
  if (b.length === 0) throw new Error(`no command for host B (after ${PAIR_SEPARATOR})`);
  return { ...flags, a, b };
}

/** The exit code of `pair`: host A's when it failed, else host B's. */
export function pairExitCode(a: number, b: number): number {
  return a !== 0 ? a : b;
}

/** Puts `prefix` before every line of `text`, empty ones too (a trailing newline starts no line). */
export function prefixLines(prefix: string, text: string): string {
  const lines = text.split('\n');
  const last = lines.pop()!;
  return lines.map((line) => `${prefix}${line}\n`).join('') + (last ? prefix + last : '');
}
