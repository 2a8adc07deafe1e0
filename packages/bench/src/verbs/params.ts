/**
 * The tests of `rdmajs-bench` and the parameters of a run that both sides
 * must agree on: the client sends them in its hello, the server checks them
 * ({@link checkRunParams}) since they come off the network.
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

/** Largest size of `-a`, as perftest's. */
export const MAX_SIZE = 1 << 23;
/** perftest disables CQ moderation above this size (MSG_SIZE_CQ_MOD_LIMIT). */
export const CQ_MOD_SIZE_LIMIT = 8192;
/** perftest's DEF_CQ_MOD. */
export const DEFAULT_CQ_MOD = 100;

/** The sizes of `-a`: 2, 4, ... 2^23, like perftest. */
export function allSizes(): number[] {
  const sizes: number[] = [];
  for (let s = 2; s <= MAX_SIZE; s *= 2) sizes.push(s);
  return sizes;
}

/** The run parameters of the options, as the client sends them to the server. */
export function runParams(o: RunParams): RunParams {
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
