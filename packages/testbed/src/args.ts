/**
 * Command-line parsing of `rdmajs-testbed` (no side effects, for tests).
 *
 * Options come first: they are read up to `--` or the first argument that is
 * not an option, and everything from there on is the command, untouched. An
 * unknown option before the command is an error, never part of the command.
 * @module
 */
import { TIMINGS, parseTiming } from './timing.js';
import type { VmOptions } from './types.js';

/** The options `run`, `auto` and `pair` take before the command. */
export type CliFlags = Pick<VmOptions, 'memoryMiB' | 'cpus' | 'timeoutMs' | 'quiet' | 'timing'>;

/** Separates host A's command from host B's in `pair`. */
export const PAIR_SEPARATOR = '---';

/** A command line `rdmajs-testbed` rejects: the CLI prints the message and exits 2 (`USAGE_EXIT_CODE`). */
export class UsageError extends Error {
  /** Never throws. */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What a subcommand's arguments ask for: `-h`/`--help`, or a run. */
export type Parsed<T> = { help: true } | ({ help?: false } & T);

const POSITIVE_INT = /^[1-9]\d*$/;
const POSITIVE_DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;
// setTimeout's ceiling.
const MAX_TIMEOUT_MS = 0x7fff_ffff;

/**
 * Reads the options at the start of `argv`: `--memory MiB`, `--cpus N`,
 * `--timeout s`, `--timing threaded|deterministic`, `--quiet`, `-h`/`--help`
 * (values also attached: `--timeout=60`). Stops at `--` (dropped), `---`, or
 * the first non-option; `rest` is what follows.
 * @throws UsageError for an unknown option, a missing value or a malformed number.
 */
export function parseFlags(argv: readonly string[]): { flags: CliFlags; help: boolean; rest: string[] } {
  const flags: CliFlags = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return { flags, help: false, rest: argv.slice(i + 1) };
    if (!arg.startsWith('-') || arg === '-' || arg === PAIR_SEPARATOR) break;
    if (arg === '-h' || arg === '--help') return { flags, help: true, rest: [] };
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const option = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (what: string): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${option} needs ${what}`);
      i++;
      return next;
    };
    switch (option) {
      case '--memory':
        flags.memoryMiB = positiveInt(option, value('a size in MiB'));
        break;
      case '--cpus':
        flags.cpus = positiveInt(option, value('a number of vCPUs'));
        break;
      case '--timeout':
        flags.timeoutMs = seconds(option, value('a number of seconds'));
        break;
      case '--timing': {
        const mode = value(`a mode: ${TIMINGS.join(' or ')}`);
        try {
          flags.timing = parseTiming(mode, option);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        break;
      }
      case '--quiet':
        if (eq > 0) throw new UsageError(`${option} takes no value`);
        flags.quiet = true;
        break;
      default:
        throw new UsageError(`unknown option ${option}`);
    }
  }
  return { flags, help: false, rest: argv.slice(i) };
}

function positiveInt(option: string, text: string): number {
  if (!POSITIVE_INT.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`${option} needs a positive whole number, got '${text}'`);
  return Number(text);
}

function seconds(option: string, text: string): number {
  const s = POSITIVE_DECIMAL.test(text) ? Number(text) : NaN;
  if (!(s > 0)) throw new UsageError(`${option} needs a positive number of seconds, got '${text}'`);
  const ms = Math.ceil(s * 1000);
  if (ms > MAX_TIMEOUT_MS) throw new UsageError(`${option} ${text} is too long (at most ${Math.floor(MAX_TIMEOUT_MS / 1000)} s)`);
  return ms;
}

/** `run`/`auto`: `[options] [--] <command...>`. @throws UsageError */
export function parseRunArgs(argv: readonly string[]): Parsed<CliFlags & { command: string[] }> {
  const { flags, help, rest } = parseFlags(argv);
  if (help) return { help: true };
  if (rest.length === 0) throw new UsageError('no command given (e.g. rdmajs-testbed run -- ibv_devinfo)');
  if (rest[0] === '') throw new UsageError('the command is an empty string');
  return { ...flags, command: rest };
}

/** `pair`: `[options] [--] <command for A...> --- <command for B...>`. @throws UsageError */
export function parsePairArgs(argv: readonly string[]): Parsed<CliFlags & { a: string[]; b: string[] }> {
  const { flags, help, rest } = parseFlags(argv);
  if (help) return { help: true };
  const sep = rest.indexOf(PAIR_SEPARATOR);
  if (sep < 0) throw new UsageError(`pair needs two commands: -- <command for A> ${PAIR_SEPARATOR} <command for B>`);
  const a = rest.slice(0, sep);
  const b = rest.slice(sep + 1);
  if (a.length === 0) throw new UsageError(`no command for host A (before ${PAIR_SEPARATOR})`);
  if (b.length === 0) throw new UsageError(`no command for host B (after ${PAIR_SEPARATOR})`);
  return { ...flags, a, b };
}

/** `prepare`/`doctor`: no arguments but `-h`/`--help`. @throws UsageError */
export function parseNoArgs(command: string, argv: readonly string[]): Parsed<object> {
  const [first] = argv;
  if (first === undefined) return {};
  if (first === '-h' || first === '--help') return { help: true };
  throw new UsageError(first.startsWith('-') ? `unknown option ${first}` : `${command} takes no arguments, got '${first}'`);
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
