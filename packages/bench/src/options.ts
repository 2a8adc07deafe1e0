/**
 * Command line of `rdmajs-bench`: the flags (in perftest's spirit and,
 * where perftest has one, with perftest's letter and default), the help
 * text, and {@link parseArgs}, which turns them into {@link Options}.
 * @module
 */
import { UsageError, scanArgs, type FlagSpec } from './args.js';
import { CQ_MOD_SIZE_LIMIT, DEFAULT_CQ_MOD, MAX_SIZE, TESTS, TEST_KINDS, allSizes, type RunParams, type TestName } from './verbs/params.js';

export { UsageError } from './args.js';

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

const FLAGS: Record<string, FlagSpec> = {
  size: { type: 'string', short: 's' },
  all: { type: 'boolean', short: 'a' },
  iters: { type: 'string', short: 'n' },
  duration: { type: 'string', short: 'D' },
  warmup: { type: 'string', short: 'w' },
  'tx-depth': { type: 'string', short: 't' },
  'rx-depth': { type: 'string', short: 'r' },
  post_list: { type: 'string', short: 'l' },
  'post-list': { type: 'string', aliasOf: 'post_list' },
  'cq-mod': { type: 'string', short: 'Q' },
  inline_size: { type: 'string', short: 'I' },
  'inline-size': { type: 'string', aliasOf: 'inline_size' },
  events: { type: 'boolean', short: 'e' },
  'ib-dev': { type: 'string', short: 'd' },
  'ib-port': { type: 'string', short: 'i' },
  'gid-index': { type: 'string', short: 'x' },
  port: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  stall: { type: 'string' },
  'connect-timeout': { type: 'string' },
  // An optional value: `--profile 500` or plain `--profile` (1000 µs).
  profile: { type: 'boolean', optionalValue: { pattern: /^\d+$/, otherwise: '1000' } },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
};

/**
 * Parses the command line (without `node script`). Options and the two
 * positional arguments mix freely, as in perftest; after `--` all are positional.
 * @throws UsageError
 */
export function parseArgs(argv: readonly string[]): Options | 'help' | 'version' {
  const { positionals: positional, given } = scanArgs(argv, FLAGS);
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

