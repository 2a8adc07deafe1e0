/**
 * Command-line parsing of `rdmajs-run`. Pure: no I/O, no process state, so
 * every case is a unit test.
 * @module
 */
import { parseHostPort } from '../bootstrap/env.js';
import { MAX_SIZE } from '../types.js';

/** Port of the rendezvous root on VM A with `--testbed-pair` when `--root` gives none (the VM is fresh: it is free). */
export const TESTBED_PAIR_ROOT_PORT = 7470;

/** The usage text `--help` prints and usage errors point to. */
export const USAGE = `usage: rdmajs-run -n N [options] [--] <command...>

Starts N ranks of <command>, each with RDMAJS_MP_RANK, RDMAJS_MP_SIZE,
RDMAJS_MP_LOCAL_RANK, RDMAJS_MP_LOCAL_SIZE and RDMAJS_MP_ROOT in its
environment (what init() of @rdmajs/mp reads). By default all ranks run on
this host.

  -n, --np N        number of ranks in the job (required)
  --root host[:port]
                    rendezvous address rank 0 listens on (default: 127.0.0.1, or
                    $RDMAJS_TESTBED_IP in the testbed, with a free port)
  --timeout s       stop all ranks after s seconds and exit 124
  --ranks A-B       start only ranks A..B (or one rank, --ranks A) of the N here;
                    the rest are started elsewhere by other rdmajs-run processes with the
                    same -n and --root host:port (a port is then required)
  --testbed         run the N ranks in one SoftRoCE testbed VM (@rdmajs/testbed);
                    the root defaults to the VM's rxe address
  --testbed-pair    split the ranks across the two VMs of the testbed pair:
                    ranks 0..ceil(N/2)-1 on A (10.9.1.1), the rest on B (10.9.1.2);
                    the root is on A, port ${TESTBED_PAIR_ROOT_PORT} unless --root says otherwise
  --timing threaded|deterministic
                    the testbed VMs' timing mode (with --testbed, --testbed-pair)
  -h, --help        print this help
  -V, --version     print the version

Environment: the ranks inherit the launcher's (in the VMs, less RDMAJS_MP_*,
RDMAJS_TESTBED* and RDMAJS_DEVICE, which the testbed sets itself).
  RDMAJS_TESTBED_IP   default --root host (set by the testbed in its VMs)
  RDMAJS_DEVICE       the RDMA device the ranks open (default: first active)
  RDMAJS_DEBUG=mp     each rank's wire-up steps on stderr (see docs/configuration.md)

Output lines are prefixed "[rank] ". SIGINT, SIGTERM and SIGHUP are forwarded
to every rank (a second one kills them); in the testbed they stop the VMs.
When a rank fails, the others get SIGTERM, then SIGKILL 5 s later (in a
testbed pair, only those on the same VM; the others learn of it through
the job's connections, or --timeout). Exit code: the first failing rank's
(128+n for signal n), 0 when all succeed, 124 on --timeout, 2 on a usage
error, 125 when the launcher or the testbed failed.
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

/** Where the ranks run: this host, one testbed VM, or the two VMs of the testbed pair. */
export type Placement = 'local' | 'testbed' | 'testbed-pair';

/** The testbed VMs' timing modes (`@rdmajs/testbed`'s `Timing`). */
export type TestbedTiming = 'threaded' | 'deterministic';

/** Ranks `first..last` (inclusive) of a job. */
export interface RankRange {
  first: number;
  last: number;
}

/** What to run and how. Plain data. */
export interface RunArgs {
  placement: Placement;
  /** Number of ranks in the job, in `1..MAX_SIZE`. */
  size: number;
  /** `--ranks`: start only these ranks here (placement `'local'` only; `root` then has a port). */
  ranks?: RankRange;
  /** `--root`; absent: the launcher's default host and a free port. */
  root?: RootRequest;
  /** `--timeout`, in ms. */
  timeoutMs?: number;
  /** `--timing`, for the testbed placements only. */
  timing?: TestbedTiming;
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
  let ranks: RankRange | undefined;
  let placement: Placement = 'local';
  let timing: TestbedTiming | undefined;
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
      case '--ranks':
        ranks = parseRanks(value());
        break;
      case '--testbed':
      case '--testbed-pair': {
        if (attached !== undefined) throw new UsageError(`${option} takes no value`);
        const asked: Placement = option === '--testbed' ? 'testbed' : 'testbed-pair';
        if (placement !== 'local' && placement !== asked) throw new UsageError('--testbed and --testbed-pair exclude each other');
        placement = asked;
        break;
      }
      case '--timing':
        timing = parseTiming(value());
        break;
      default:
        throw new UsageError(`unknown option ${option}`);
    }
  }
  const command = argv.slice(i);
  if (size === undefined) throw new UsageError('the number of ranks is required: -n N');
  if (command.length === 0) throw new UsageError('no command to run (e.g. rdmajs-run -n 2 node app.js)');
  if (command[0] === '') throw new UsageError('the command is an empty string');
  if (timing !== undefined && placement === 'local') throw new UsageError('--timing applies to the testbed VMs: add --testbed or --testbed-pair');
  if (placement === 'testbed-pair' && size < 2) throw new UsageError('--testbed-pair needs at least 2 ranks (-n 2), one per VM');
  if (ranks !== undefined) {
    if (placement !== 'local') throw new UsageError(`--ranks starts part of a job on this host; it does not combine with --${placement}`);
    if (ranks.last >= size) throw new UsageError(`--ranks ${formatRange(ranks)} goes beyond the job's ranks 0..${size - 1} (-n ${size})`);
    if (root?.port === undefined) {
      throw new UsageError('--ranks needs --root host:port with a port: every part of the job must name the same rendezvous address');
    }
  }
  const args: RunArgs = { placement, size, command };
  if (ranks !== undefined) args.ranks = ranks;
  if (root !== undefined) args.root = root;
  if (timeoutMs !== undefined) args.timeoutMs = timeoutMs;
  if (timing !== undefined) args.timing = timing;
  return { kind: 'run', args };
}

function parseSize(option: string, text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SIZE) throw new UsageError(`${option} needs a whole number of ranks in 1..${MAX_SIZE}, got ${JSON.stringify(text)}`);
  return n;
}

/** `A-B` or `A`, for `--ranks`. */
function parseRanks(text: string): RankRange {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const first = m === null ? NaN : Number(m[1]);
  const last = m === null ? NaN : Number(m[2] ?? m[1]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last >= MAX_SIZE) {
    throw new UsageError(`--ranks needs a rank or a range of ranks A-B (e.g. 0-3), got ${JSON.stringify(text)}`);
  }
  if (last < first) throw new UsageError(`--ranks ${text} runs backwards (A-B needs A <= B)`);
  return { first, last };
}

/** `A-B`, or `A` for a single rank. Never throws. */
export function formatRange(range: RankRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}-${range.last}`;
}

function parseTiming(text: string): TestbedTiming {
  if (text === 'threaded' || text === 'deterministic') return text;
  throw new UsageError(`--timing needs threaded or deterministic, got ${JSON.stringify(text)}`);
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
