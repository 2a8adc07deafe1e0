// Helpers for the collective tests: run one call on every rank of a fake
// world (with a deadlock guard), check that nothing was left in flight,
// make per-rank inputs, and compute the serial answers independently of
// the code under test.
import { expect } from 'vitest';

import type { ReduceOp, ReducibleArray } from '../../src/index.js';
import { FakeWorld, type FakeOptions, type FakeRank } from './fake-transport.js';
import { Prng } from './prng.js';

export const SIZES = [1, 2, 3, 4, 5, 8] as const;

export type ArrayKind = 'Float64' | 'Float32' | 'Int32' | 'BigInt64';
export const KINDS: readonly ArrayKind[] = ['Float64', 'Float32', 'Int32', 'BigInt64'];
export const BYTES_PER: Record<ArrayKind, number> = { Float64: 8, Float32: 4, Int32: 4, BigInt64: 8 };

/**
 * Runs `fn` on every rank at once; fails if the call does not finish within
 * `ms` (a deadlock), or leaves any message or receive behind on any rank
 * (a collective must consume exactly what it sends).
 */
export async function onAll<T>(world: FakeWorld, fn: (p: FakeRank) => Promise<T>, ms = 10_000): Promise<T[]> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadlock: the collective did not complete within ${ms} ms`)), ms);
  });
  try {
    const out = await Promise.race([Promise.all(world.ranks.map(fn)), guard]);
    await world.quiesce();
    for (const r of world.ranks) {
      expect({ rank: r.rank, posted: r.engine.postedCount, unexpected: r.engine.unexpectedCount }).toEqual({
        rank: r.rank,
        posted: 0,
        unexpected: 0,
      });
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

export function world(size: number, options: FakeOptions = {}): FakeWorld {
  return new FakeWorld(size, { seed: 1000 + size, eagerLimit: 64, ...options });
}

/** Rank `rank`'s input: floats in [0.5, 1.5) (products stay finite), integers over the full range (wrap-around is exercised). */
export function input(kind: ArrayKind, length: number, rank: number, seed = 1): ReducibleArray {
  const rng = new Prng(seed * 7919 + rank);
  switch (kind) {
    case 'Float64':
      return Float64Array.from({ length }, () => 0.5 + rng.next());
    case 'Float32':
      return Float32Array.from({ length }, () => 0.5 + rng.next());
    case 'Int32':
      return Int32Array.from({ length }, () => rng.u32() | 0);
    case 'BigInt64':
      return BigInt64Array.from({ length }, () => BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32())));
  }
}

/** The serial left-to-right reduction, written independently of reduceInto. */
export function serial(op: ReduceOp, arrays: readonly ReducibleArray[]): ReducibleArray {
  const first = arrays[0] as ReducibleArray;
  const out = first.slice() as ReducibleArray;
  for (const a of arrays.slice(1)) {
    for (let i = 0; i < out.length; i++) {
      if (out instanceof BigInt64Array) {
        const x = out[i] as bigint;
        const y = a[i] as bigint;
        out[i] = op === 'sum' ? x + y : op === 'prod' ? x * y : op === 'min' ? (x < y ? x : y) : x > y ? x : y; // stores wrap mod 2^64
      } else {
        const x = out[i] as number;
        const y = a[i] as number;
        let r: number;
        if (out instanceof Int32Array) r = op === 'sum' ? x + y : op === 'prod' ? Number(BigInt.asIntN(32, BigInt(x) * BigInt(y))) : op === 'min' ? Math.min(x, y) : Math.max(x, y);
        else r = op === 'sum' ? x + y : op === 'prod' ? x * y : op === 'min' ? Math.min(x, y) : Math.max(x, y);
        out[i] = r; // Int32Array wraps, Float32Array rounds, once per step
      }
    }
  }
  return out;
}

/** Integers and min/max exactly; float sums and products within rounding of the serial order. */
export function expectReduced(actual: ReducibleArray, want: ReducibleArray, op: ReduceOp, what: string): void {
  expect(actual.constructor, what).toBe(want.constructor);
  expect(actual.length, what).toBe(want.length);
  const exact = actual instanceof Int32Array || actual instanceof BigInt64Array || op === 'min' || op === 'max';
  if (exact) {
    // Compare as bytes: one assertion, exact, fast for long vectors.
    expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)), what).toBe(true);
    return;
  }
  const rel = actual instanceof Float32Array ? 1e-5 : 1e-12;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const w = want[i] as number;
    worst = Math.max(worst, Math.abs(a - w) / Math.abs(w));
  }
  expect(worst, what).toBeLessThanOrEqual(rel);
}

/** Bytes of a typed array. */
export function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
