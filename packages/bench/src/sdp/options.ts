/**
 * Command line of `rdmajs-bench sdp`: its flags (rstream's `-S` and `-C`),
 * the help text, and {@link parseSdpArgs}.
 * @module
 */
import { UsageError, scanArgs, type FlagSpec } from '../args.js';

export const SDP_USAGE = `usage: rdmajs-bench sdp [host] [options]
  (no host)            serve (one client at a time, until killed)
  --transport T        sdp (default) or net
  -p, --port N         port (default 18600)
  -S, --size N         bytes per transfer (default 64)
  -C, --count N        transfers (default 1000)
  --warmup N           ping-pong transfers before the clock starts (default
                       count/10, at most 100); V8 needs thousands to reach
                       steady state under emulation
  --stream             one-way streaming instead of ping-pong
  --busy US            busy-poll the CQ up to US microseconds before sleeping (sdp)
  --ring N             SDP receive ring bytes (default 1 MiB)
  --zero-copy N        SDP zero-copy threshold in bytes, 0 = always copy (default 256 KiB)
  --json               print the result as JSON
  -h, --help           this help
environment: RDMAJS_DEVICE (the device), RDMAJS_DEBUG=sdp,cm (debug lines on stderr)
exit codes: 0 done, 1 failed, 2 usage error`;

export interface SdpBenchOptions {
  host?: string;
  transport: 'sdp' | 'net';
  port: number;
  size: number;
  count: number;
  /** Ping-pong transfers before timing starts (undefined: count/10, at most 100). */
  warmup?: number;
  stream: boolean;
  busyPollUs: number;
  ringSize?: number;
  zeroCopyThreshold?: number;
  json: boolean;
}

const FLAGS: Record<string, FlagSpec> = {
  transport: { type: 'string' },
  port: { type: 'string', short: 'p' },
  size: { type: 'string', short: 'S' },
  count: { type: 'string', short: 'C' },
  warmup: { type: 'string' },
  stream: { type: 'boolean' },
  busy: { type: 'string' },
  ring: { type: 'string' },
  'zero-copy': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * Parses `rdmajs-bench sdp`'s arguments (after `sdp`).
 * @throws UsageError for an unknown option, a missing or bad value, a second host.
 */
export function parseSdpArgs(argv: readonly string[]): SdpBenchOptions | 'help' {
  const { positionals, given, spelled } = scanArgs(argv, FLAGS);
  if (given.has('help')) return 'help';
  const num = (name: string, min: number, fallback: number): number => {
    const v = given.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (typeof v !== 'string' || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${spelled.get(name)} needs an integer >= ${min}, got '${String(v)}'`);
    return n;
  };
  const transport = given.get('transport') ?? 'sdp';
  if (transport !== 'sdp' && transport !== 'net') throw new UsageError(`--transport needs sdp or net, got '${String(transport)}'`);
  const [host, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}' (the server address is '${host}')`);
  const o: SdpBenchOptions = {
    transport,
    port: num('port', 1, 18600),
    size: num('size', 1, 64),
    count: num('count', 1, 1000),
    stream: given.has('stream'),
    busyPollUs: num('busy', 0, 0),
    json: given.has('json'),
  };
  if (host !== undefined) o.host = host;
  if (given.has('warmup')) o.warmup = num('warmup', 0, 0);
  if (given.has('ring')) o.ringSize = num('ring', 4096, 0);
  if (given.has('zero-copy')) o.zeroCopyThreshold = num('zero-copy', 0, 0);
  return o;
}
