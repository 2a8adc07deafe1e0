/**
 * The figures, computed the way perftest computes them.
 * - Bandwidth: bytes x iterations / (last completion - first post).
 * - Latency: one timestamp per iteration at post time; the sample is the
 *   gap between consecutive posts (a full round trip including the peer's
 *   turn-around), halved for ping-pongs (SEND, WRITE), whole for READ.
 *   Typical = median; p99 and p99.9 as perftest's `ceil(n * p) - 1`.
 * @module
 */

/** A bandwidth result. */
export interface BwResult {
  bytes: number;
  iterations: number;
  seconds: number;
  /** MiB/s (2^20 bytes), what perftest prints as "MB/sec". */
  bwMiBps: number;
  /** Gbit/s (10^9 bits). */
  bwGbps: number;
  /** Million messages per second. */
  mpps: number;
}

/** A latency result, in microseconds. */
export interface LatResult {
  bytes: number;
  iterations: number;
  tMinUs: number;
  tMaxUs: number;
  tTypicalUs: number;
  tAvgUs: number;
  tStdevUs: number;
  p99Us: number;
  p999Us: number;
}

export function bandwidth(bytes: number, iterations: number, ms: number): BwResult {
  const seconds = ms / 1000;
  const total = bytes * iterations;
  return {
    bytes,
    iterations,
    seconds,
    bwMiBps: total / seconds / 2 ** 20,
    bwGbps: (total * 8) / seconds / 1e9,
    mpps: iterations / seconds / 1e6,
  };
}

/**
 * Latency statistics from `count` post timestamps (milliseconds, as
 * `performance.now()`), dividing each gap by `factor`.
 */
export function latency(bytes: number, stamps: Float64Array, count: number, factor: number): LatResult {
  const n = count - 1;
  if (n < 1) throw new RangeError('latency needs at least two timestamps');
  const d = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const us = ((stamps[i + 1]! - stamps[i]!) * 1000) / factor;
    d[i] = us;
    sum += us;
  }
  d.sort();
  const avg = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (d[i]! - avg) ** 2;
  const at = (p: number) => d[Math.min(n - 1, Math.max(0, Math.ceil(n * p) - 1))]!;
  return {
    bytes,
    iterations: count,
    tMinUs: d[0]!,
    tMaxUs: d[n - 1]!,
    tTypicalUs: d[Math.floor(n / 2)]!,
    tAvgUs: avg,
    tStdevUs: Math.sqrt(sq / n),
    p99Us: at(0.99),
    p999Us: at(0.999),
  };
}

/** A growable Float64Array of timestamps for duration runs (grows by doubling; preallocated otherwise). */
export class Stamps {
  data: Float64Array;
  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(2, capacity));
  }
  /** Makes room for index `i` (allocates only when doubling). */
  ensure(i: number): Float64Array {
    if (i >= this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    return this.data;
  }
}
