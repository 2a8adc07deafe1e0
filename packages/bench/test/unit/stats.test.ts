// The figures as perftest computes them (src/verbs/stats.ts) and the
// statistics over repeated runs (src/report/results.ts).
import { describe, expect, it } from 'vitest';

import { median, spread } from '../../src/report/results.js';
import { Stamps, bandwidth, latency } from '../../src/verbs/stats.js';

describe('bandwidth', () => {
  it('is bytes x iterations over the time, in MiB/s, Gbit/s and Mpps', () => {
    const r = bandwidth(65536, 1000, 500);
    expect(r).toEqual({ bytes: 65536, iterations: 1000, seconds: 0.5, bwMiBps: 125, bwGbps: (65536 * 1000 * 8) / 0.5 / 1e9, mpps: 0.002 });
  });
});

describe('latency', () => {
  // Stamps 0, 1, 3, 6, ... ms: gaps 1, 2, 3, ... ms.
  const stamps = (n: number) => {
    const s = new Float64Array(n);
    for (let i = 1; i < n; i++) s[i] = s[i - 1]! + i;
    return s;
  };

  it('takes the gaps between posts, halved for ping-pongs', () => {
    const r = latency(2, stamps(5), 5, 2);
    // Gaps 1, 2, 3, 4 ms = 500 .. 2000 µs after halving.
    expect(r).toMatchObject({ bytes: 2, iterations: 5, tMinUs: 500, tMaxUs: 2000, tTypicalUs: 1500, tAvgUs: 1250 });
    expect(r.tStdevUs).toBeCloseTo(Math.sqrt((750 ** 2 + 250 ** 2 + 250 ** 2 + 750 ** 2) / 4), 9);
  });

  it('typical is the median; p99 and p99.9 are perftest ceil(n * p) - 1 order statistics', () => {
    const n = 1001; // 1000 gaps of 1 .. 1000 ms
    const r = latency(8, stamps(n), n, 1);
    expect(r.tTypicalUs).toBe(501_000);
    expect(r.p99Us).toBe(990_000);
    expect(r.p999Us).toBe(999_000);
    const small = latency(8, stamps(3), 3, 1); // 2 gaps: every percentile is the largest
    expect([small.p99Us, small.p999Us, small.tTypicalUs]).toEqual([2000, 2000, 2000]);
  });

  it('ignores stamps past the count, and needs two', () => {
    const s = stamps(10);
    expect(latency(2, s, 3, 1).tMaxUs).toBe(2000);
    expect(() => latency(2, s, 1, 1)).toThrow(RangeError);
  });

  it('Stamps grow by doubling and keep what they held', () => {
    const st = new Stamps(2);
    st.data[1] = 42;
    const same = st.ensure(1);
    expect(same).toBe(st.data);
    const grown = st.ensure(2);
    expect(grown.length).toBe(4);
    expect(grown[1]).toBe(42);
  });
});

describe('statistics over runs', () => {
  it('median: middle value, the mean of the middle two, failed runs left out', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([null, 5, null])).toBe(5);
    expect(median([null])).toBeNull();
  });

  it('spread: (max - min) / median; null without figures or with a zero median', () => {
    expect(spread([90, 100, 110])).toBeCloseTo(0.2, 12);
    expect(spread([7])).toBe(0);
    expect(spread([])).toBeNull();
    expect(spread([0, 0])).toBeNull();
  });
});
