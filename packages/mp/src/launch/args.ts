/**
 * Command-line parsing of `rdmajs-run`. Pure: no I/O, no process state, so
 * every case is a unit test.
 * @module
 */
import { parseHostPort } from '../bootstrap/env.js';
import { MAX_SIZE } from '../types.js';

/** The usage text `--help` prints and usage errors point to. */
export const USAGE = `usage: rdmajs-run -n N [--root host[:port]] [--timeout s] [--] <command...>

Starts N ranks of <command> on this host, each with RDMAJS_MP_RANK,
RDMAJS_MP_SIZE, RDMAJS_MP_LOCAL_RANK, RDMAJS_MP_LOCAL_SIZE and RDMAJS_MP_ROOT
in its environment (what init() of @rdmajs/mp reads).

  -n, --np N        number of ranks (required)
  --root host[:port]
                    rendezvous address rank 0 listens on (default: 127.0.0.1, or
                    $RDMAJS_TESTBED_IP in the testbed, with a free port)
  --timeout s       stop all ranks after s seconds and exit 124
  -h, --help        print this help
  -V, --version     print the version

Output lines are prefixed "[rank] ". SIGINT, SIGTERM and SIGHUP are forwarded
to every rank (a second one kills them). When a rank fails, the others get
SIGTERM, then SIGKILL 5 s later. Exit code: the first failing rank's (128+n
for signal n), 0 when all succeed, 124 on --timeout, 2 on a usage error.
`;

/** A command line `rdmajs-run` rejects; the CLI prints the message and exits 2. */
export class UsageError extends Error {
  /** Never throws. */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The rendezvous address asked for with `--root`: a host, and a port unless
 * the launcher should pick a free one.
 */
export interface RootRequest {
  host: string;
  port?: number;
}

/**
 * What to run and how. Plain data.
 *
 * `placement` says where the ranks run; only `'local'` (this host) exists
 * now. `--testbed` (all ranks in one testbed VM) and `--testbed-pair` (ranks
 * split across the two VMs of pair mode) will widen it to a union, e.g.
 * `'local' | 'testbed' | 'testbed-pair'`, with their VM options (memory,
 * cpus, timing) as further optional fields, without changing the fields here.
 */
export interface RunArgs {
  placement: 'local';
  /** Number of ranks, in `1..MAX_SIZE`. */
  size: number;
  /** `--root`; absent: the launcher's default host and a free port. */
  root?: RootRequest;
  /** `--timeout`, in ms. */
  timeoutMs?: number;
  /** The command and its arguments, as given (at least one element). */
  command: string[];
}

/** What the command line asks for. */
export type Invocation = { kind: 'run'; args: RunArgs } | { kind: 'help' } | { kind: 'version' };

/** setTimeout's ceiling. */
const MAX_TIMEOUT_MS = 0x7fff_ffff;

/**
 * Parses `rdmajs-run`'s arguments (without `node` and the script).
 * Options come first; the command starts after `--` or at the first
 * argument that is not an option, so `rdmajs-run -n 2 node app.js --flag`
 * passes `--flag` to the app. Options take their value as the next
 * argument, or attached (`--np=4`, `-n4`, `--timeout=30`).
 * @throws UsageError naming the offending argument: unknown option, missing or malformed value, no `-n`,
 *   no command.
 */
export function parseArgs(argv: readonly string[]): Invocation {
  let size: number | undefined;
  let root: RootRequest | undefined;
  let timeoutMs: number | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-V' || arg === '--version') return { kind: 'version' };

    let option = arg;
    let attached: string | undefined;
    const long = /^(--[^=]+)=(.*)$/.exec(arg);
    // -n4, -n=4: the short option with its value glued on (-np is mpirun's spelling of -n, not -n p).
    const short = arg === '-np' ? null : /^-n=?(.+)$/.exec(arg);
    if (long !== null) [option, attached] = [long[1]!, long[2]!];
    else if (short !== null) [option, attached] = ['-n', short[1]!];
    const value = (): string => {
      if (attached !== undefined) return attached;
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${option} needs a value`);
      i++;
      return next;
    };

    switch (option) {
      case '-n':
      case '-np': // mpirun's spelling
      case '--np':
        size = parseSize(option, value());
        break;
      case '--root':
        root = parseRoot(value());
        break;
      case '--timeout':
        timeoutMs = parseTimeout(value());
        break;
      default:
        throw new UsageError(`unknown option ${option}`);
    }
  }
  const command = argv.slice(i);
  if (size === undefined) throw new UsageError('the number of ranks is required: -n N');
  if (command.length === 0) throw new UsageError('no command to run (e.g. rdmajs-run -n 2 node app.js)');
  if (command[0] === '') throw new UsageError('the command is an empty string');
  const args: RunArgs = { placement: 'local', size, command };
  if (root !== undefined) args.root = root;
  if (timeoutMs !== undefined) args.timeoutMs = timeoutMs;
  return { kind: 'run', args };
}

function parseSize(option: string, text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SIZE) throw new UsageError(`${option} needs a whole number of ranks in 1..${MAX_SIZE}, got ${JSON.stringify(text)}`);
  return n;
}

function parseTimeout(text: string): number {
  const s = /^\d+(\.\d+)?$|^\.\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(s) || s <= 0) throw new UsageError(`--timeout needs a positive number of seconds, got ${JSON.stringify(text)}`);
  const ms = Math.ceil(s * 1000);
  if (ms > MAX_TIMEOUT_MS) throw new UsageError(`--timeout ${text} is too long (at most ${Math.floor(MAX_TIMEOUT_MS / 1000)} s)`);
  return ms;
}

/** `host:port`, `[v6]:port`, or a bare `host` / `v6` / `[v6]` (the launcher then picks the port). */
function parseRoot(text: string): RootRequest {
  const t = text.trim();
  if (t === '') throw new UsageError('--root needs host or host:port');
  const bracketed = /^\[([^\]]+)\]$/.exec(t);
  if (bracketed !== null) return { host: bracketed[1]! };
  const colons = t.split(':').length - 1;
  // Two or more colons without brackets: a bare IPv6 address, no port.
  if (colons >= 2 && !t.startsWith('[')) return { host: t };
  if (colons === 0) {
    if (/[\s[\]/]/.test(t)) throw new UsageError(`--root ${JSON.stringify(text)} is not a host name or address`);
    return { host: t };
  }
  try {
    return parseHostPort(t, '--root');
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^ELAUNCH: /, ''));
  }
}
