/**
 * Command line of `rdmajs-bench`: the tests, the flags (in perftest's
 * spirit and, where perftest has one, with perftest's letter and default),
 * and the parameters both sides of a run must agree on.
 * @module
 */

/** The tests, named like perftest's binaries without the `ib_` prefix. */
export const TESTS = ['write_bw', 'read_bw', 'send_bw', 'atomic_bw', 'send_lat', 'write_lat', 'read_lat'] as const;
export type TestName = (typeof TESTS)[number];

/** What a test does, as far as set-up and reporting are concerned. */
export interface TestKind {
  /** Bandwidth (stream of operations) or latency (one at a time). */
  kind: 'bw' | 'lat';
  /** The operation the client issues. */
  verb: 'write' | 'read' | 'send' | 'atomic';
  /**
   * Whether the server takes part in the data path (posts receives, answers
   * pings); otherwise it only holds its memory open for one-sided operations.
   */
  activeServer: boolean;
  /** Latency divisor: perftest halves the round trip for ping-pongs, not for reads. */
  latencyFactor: 1 | 2;
}

export const TEST_KINDS: Record<TestName, TestKind> = {
  write_bw: { kind: 'bw', verb: 'write', activeServer: false, latencyFactor: 1 },
  read_bw: { kind: 'bw', verb: 'read', activeServer: false, latencyFactor: 1 },
  send_bw: { kind: 'bw', verb: 'send', activeServer: true, latencyFactor: 1 },
  atomic_bw: { kind: 'bw', verb: 'atomic', activeServer: false, latencyFactor: 1 },
  send_lat: { kind: 'lat', verb: 'send', activeServer: true, latencyFactor: 2 },
  write_lat: { kind: 'lat', verb: 'write', activeServer: true, latencyFactor: 2 },
  read_lat: { kind: 'lat', verb: 'read', activeServer: false, latencyFactor: 1 },
};

/**
 * Parameters of the run itself. The client's values are authoritative: it
 * sends them to the server in its hello, so the server needs none of these
 * flags (perftest wants them repeated on both sides).
 */
export interface RunParams {
  test: TestName;
  /** Message sizes, in order (one unless `-a`). */
  sizes: number[];
  /** Measured iterations per size (ignored with `durationS`). */
  iterations: number;
  /** Run each size for this many seconds instead of `iterations`; 0 = off. */
  durationS: number;
  /** Unmeasured iterations before each measurement (JIT warm-up). */
  warmup: number;
  /** Send queue depth: most operations in flight. */
  txDepth: number;
  /** Receives kept posted by the receiving side of SEND tests. */
  rxDepth: number;
  /** Work requests per post (one chain, one doorbell). */
  postList: number;
  /** Signal one send in every `cqMod`. */
  cqMod: number;
  /** Send payloads up to this size inline. */
  inlineSize: number;
}

/** Everything the command line says. */
export interface Options extends RunParams {
  /** Server address to connect to; undefined = be the server. */
  host: string | undefined;
  /** TCP port of the parameter exchange. */
  port: number;
  /** RDMA device; default `$RDMAJS_DEVICE` or the first active one. */
  device: string | undefined;
  /** Port of the device. */
  ibPort: number;
  /** GID index; default the RoCE v2 IPv4 GID (`ctx.defaultGid()`). */
  gidIndex: number | undefined;
  /** Sleep on the completion channel instead of busy-polling. */
  events: boolean;
  /** Print one JSON document instead of the table. */
  json: boolean;
  /** Give up when nothing progresses for this many seconds. */
  stallS: number;
  /** Seconds the client keeps retrying to reach the server. */
  connectS: number;
  /** Profile the client's measured phases and print the top frames (sampling interval in µs; 0 = off). */
  profileUs: number;
}

export const USAGE = `usage: rdmajs-bench <test> [options]            server
       rdmajs-bench <test> <server-address> [options] client
       rdmajs-bench sdp [<server-address>] [options]  stream sockets over @rdmajs/sdp or net
                                                      ('rdmajs-bench sdp --help' for its options)
tests: ${TESTS.join(', ')}
  -s, --size <bytes>        message size (default 65536 for bandwidth, 2 for latency; atomics are 8)
  -a, --all                 all sizes 2 .. 2^23 (doubling)
  -n, --iters <n>           measured iterations (default 5000 for bandwidth, 1000 for latency)
  -D, --duration <s>        run for this many seconds instead of -n
  -w, --warmup <n>          unmeasured iterations first (default n/10, at most 1000)
  -t, --tx-depth <n>        send queue depth (default 128 for bandwidth, 1 for latency)
  -r, --rx-depth <n>        receives kept posted in SEND tests (default 512)
  -l, --post_list <n>       work requests per post, one doorbell (default 1)
  -Q, --cq-mod <n>          signal one send in every n (default as perftest: 100, 1 above 8 KiB,
                            the post list with -l, never more than the tx depth)
  -I, --inline_size <bytes> send up to this size inline (default 236 send_lat, 220 write_lat, else 0)
  -e, --events              sleep on the completion channel (cq.pollWait) instead of busy-polling
  -d, --ib-dev <name>       RDMA device (default $RDMAJS_DEVICE, else the first active one)
  -i, --ib-port <n>         device port (default 1)
  -x, --gid-index <n>       GID index (default: the RoCE v2 IPv4 GID)
  -p, --port <n>            TCP port of the parameter exchange (default 18515)
      --json                print one JSON document on stdout instead of the table
      --stall <s>           abort when nothing completes for this long (default 30)
      --connect-timeout <s> how long the client retries to reach the server (default 60)
      --profile [<µs>]      profile the client's measured phases (V8 sampling every <µs>,
                            default 1000) and print the top frames by self time
  -h, --help                this help
  -V, --version             print the version
The client's run parameters (size, iterations, depths, ...) govern both sides;
the server only needs the test name and its local flags (-d -i -x -p -e --json).
environment:
  RDMAJS_DEVICE=<name>      default device (-d)
  RDMAJS_DEBUG=verbs,sdp    debug lines of those channels on stderr
exit codes: 0 done, 1 failed (peer unreachable, a completion error, a stall while
busy-polling), 2 usage error, 3 stalled (with -e, or the server).`;

/** A command-line mistake: the CLI prints it with a hint to --help and exits 2. */
export class UsageError extends Error {
  /** Never throws. */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const FLAG_ALIASES: Record<string, string> = {
  '-s': 'size',
  '--size': 'size',
  '-a': 'all',
  '--all': 'all',
  '-n': 'iters',
  '--iters': 'iters',
  '-D': 'duration',
  '--duration': 'duration',
  '-w': 'warmup',
  '--warmup': 'warmup',
  '-t': 'tx-depth',
  '--tx-depth': 'tx-depth',
  '-r': 'rx-depth',
  '--rx-depth': 'rx-depth',
  '-l': 'post_list',
  '--post_list': 'post_list',
  '--post-list': 'post_list',
  '-Q': 'cq-mod',
  '--cq-mod': 'cq-mod',
  '-I': 'inline_size',
  '--inline_size': 'inline_size',
  '--inline-size': 'inline_size',
  '-e': 'events',
  '--events': 'events',
  '-d': 'ib-dev',
  '--ib-dev': 'ib-dev',
  '-i': 'ib-port',
  '--ib-port': 'ib-port',
  '-x': 'gid-index',
  '--gid-index': 'gid-index',
  '-p': 'port',
  '--port': 'port',
  '--json': 'json',
  '--stall': 'stall',
  '--connect-timeout': 'connect-timeout',
  '--profile': 'profile',
  '-h': 'help',
  '--help': 'help',
  '-V': 'version',
  '--version': 'version',
};
const BOOLEAN_FLAGS = new Set(['all', 'events', 'json', 'help', 'version']);

/** Largest size of `-a`, as perftest's. */
export const MAX_SIZE = 1 << 23;
/** perftest disables CQ moderation above this size (MSG_SIZE_CQ_MOD_LIMIT). */
const CQ_MOD_SIZE_LIMIT = 8192;
/** perftest's DEF_CQ_MOD. */
const DEFAULT_CQ_MOD = 100;

/**
 * Parses the command line (without `node script`). Options and the two
 * positional arguments mix freely, as in perftest; after `--` all are positional.
 * @throws UsageError
 */
export function parseArgs(argv: readonly string[]): Options | 'help' | 'version' {
  const positional: string[] = [];
  const given = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (arg === '--profile') {
      // An optional value: `--profile 500` or plain `--profile`.
      const next = argv[i + 1];
      given.set('profile', next !== undefined && /^\d+$/.test(next) ? argv[++i]! : '1000');
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = FLAG_ALIASES[flag];
    if (name === undefined) throw new UsageError(`unknown option ${flag}`);
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq > 0) throw new UsageError(`${flag} takes no value`);
      given.set(name, true);
    } else if (eq > 0) {
      given.set(name, arg.slice(eq + 1));
    } else {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      given.set(name, value);
    }
  }
  if (given.has('help')) return 'help';
  if (given.has('version')) return 'version';

  const [testArg, host, ...extra] = positional;
  if (testArg === undefined) throw new UsageError('no test given');
  const test = testArg.replace(/^ib_/, '') as TestName;
  if (!TESTS.includes(test)) throw new UsageError(`unknown test '${testArg}'`);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);

  const num = (name: string, min: number, max: number, fallback: number): number => {
    const raw = given.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
      throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${String(raw)}'`);
    }
    return value;
  };
  const kind = TEST_KINDS[test];
  const lat = kind.kind === 'lat';

  const all = given.has('all');
  let size = num('size', 1, MAX_SIZE, lat ? 2 : 65536);
  if (kind.verb === 'atomic') size = 8;
  const sizes = all && kind.verb !== 'atomic' ? allSizes() : [size];
  const iterations = num('iters', 1, 2 ** 40, lat ? 1000 : 5000);
  const durationS = num('duration', 0, 24 * 3600, 0);
  const txDepth = num('tx-depth', 1, 1 << 15, lat ? 1 : 128);
  const rxDepth = num('rx-depth', 1, 1 << 15, 512);
  const postList = num('post_list', 1, 1024, 1);
  const events = given.has('events');

  // CQ moderation as perftest decides it (perftest_parameters.c).
  let cqMod = num('cq-mod', 1, 1 << 15, DEFAULT_CQ_MOD);
  if (!given.has('cq-mod')) {
    if (!lat && postList > 1) cqMod = postList;
    else if (!lat && size > CQ_MOD_SIZE_LIMIT && !all && !events) cqMod = 1;
  }
  cqMod = Math.min(cqMod, txDepth);

  const inlineDefault = test === 'send_lat' ? 236 : test === 'write_lat' ? 220 : 0;
  const inlineSize = kind.verb === 'read' || kind.verb === 'atomic' ? 0 : num('inline_size', 0, 1 << 16, inlineDefault);

  if (postList > txDepth) throw new UsageError(`the post list (${postList}) must not exceed the tx depth (${txDepth})`);
  if (lat && postList > 1) throw new UsageError('a post list (-l) only applies to bandwidth tests');
  if (postList > 1 && postList % cqMod !== 0) throw new UsageError(`the post list (${postList}) must be a multiple of the CQ moderation (${cqMod})`);
  if (postList > 1 && durationS === 0 && iterations % postList !== 0) {
    throw new UsageError(`iterations (${iterations}) must be a multiple of the post list (${postList})`);
  }
  if (events && test === 'write_lat') throw new UsageError('write_lat polls memory; events (-e) do not apply (as in perftest)');
  if (durationS > 0 && all) throw new UsageError('-D and -a do not combine');
  if (test === 'write_lat' && durationS > 0 && size < 2) throw new UsageError('write_lat -D needs messages of at least 2 bytes');
  if (lat && durationS === 0 && iterations < 2) throw new UsageError('latency tests need at least 2 iterations');

  const warmupDefault = durationS > 0 ? 1000 : Math.min(1000, Math.ceil(iterations / 10));
  let warmup = num('warmup', 0, 2 ** 40, warmupDefault);
  warmup = Math.ceil(warmup / postList) * postList;
  if (lat && warmup === 1) warmup = 2;

  const gidRaw = given.get('gid-index');
  return {
    test,
    sizes,
    iterations,
    durationS,
    warmup,
    txDepth,
    rxDepth,
    postList,
    cqMod,
    inlineSize,
    host,
    port: num('port', 1, 65535, 18515),
    device: typeof given.get('ib-dev') === 'string' ? (given.get('ib-dev') as string) : undefined,
    ibPort: num('ib-port', 1, 255, 1),
    gidIndex: gidRaw === undefined ? undefined : num('gid-index', 0, 255, 0),
    events,
    json: given.has('json'),
    stallS: num('stall', 1, 3600, 30),
    connectS: num('connect-timeout', 1, 3600, 60),
    profileUs: num('profile', 0, 1_000_000, 0),
  };
}

/** The sizes of `-a`: 2, 4, ... 2^23, like perftest. */
export function allSizes(): number[] {
  const sizes: number[] = [];
  for (let s = 2; s <= MAX_SIZE; s *= 2) sizes.push(s);
  return sizes;
}

/** The run parameters of the options, as the client sends them to the server. */
export function runParams(o: Options): RunParams {
  const { test, sizes, iterations, durationS, warmup, txDepth, rxDepth, postList, cqMod, inlineSize } = o;
  return { test, sizes, iterations, durationS, warmup, txDepth, rxDepth, postList, cqMod, inlineSize };
}

/** Checks run parameters received from a peer (they come off the network). */
export function checkRunParams(value: unknown): RunParams {
  if (typeof value !== 'object' || value === null) throw new Error('peer sent no run parameters');
  const p = value as Record<string, unknown>;
  const int = (k: string, min: number, max: number) => {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`peer sent a bad ${k}: ${String(v)}`);
  };
  if (!TESTS.includes(p.test as TestName)) throw new Error(`peer runs an unknown test ${String(p.test)}`);
  if (!Array.isArray(p.sizes) || p.sizes.length === 0 || !p.sizes.every((s) => Number.isInteger(s) && s >= 1 && s <= MAX_SIZE)) {
    throw new Error('peer sent bad sizes');
  }
  int('iterations', 1, 2 ** 40);
  int('durationS', 0, 24 * 3600);
  int('warmup', 0, 2 ** 40);
  int('txDepth', 1, 1 << 15);
  int('rxDepth', 1, 1 << 15);
  int('postList', 1, 1024);
  int('cqMod', 1, 1 << 15);
  int('inlineSize', 0, 1 << 16);
  return p as unknown as RunParams;
}
