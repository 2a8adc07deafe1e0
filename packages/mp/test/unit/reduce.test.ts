// Elementwise reductions against straightforward references: exact for
// integers (with C-style wrap-around), IEEE of the array's precision for floats.
import { describe, expect, it } from 'vitest';

import { REDUCE_OPS, allocLike, reduceInto, type ReduceOp } from '../../src/index.js';
import { Prng } from './prng.js';

const rng = new Prng(42);

function randomInt64(): bigint {
  const hi = BigInt(rng.u32());
  const lo = BigInt(rng.u32());
  return BigInt.asIntN(64, (hi << 32n) | lo);
}

const EDGE64 = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 32n, 2n ** 32n - 1n, -(2n ** 32n), 0xffff_ffffn, -0x8000_0000n, 3n];
const EDGE32 = [0, 1, -1, 0x7fff_ffff, -0x8000_0000, 0xffff, -0x10000, 46341];

function ref64(op: ReduceOp, a: bigint, b: bigint): bigint {
  switch (op) {
    case 'sum':
      return BigInt.asIntN(64, a + b);
    case 'prod':
      return BigInt.asIntN(64, a * b);
    case 'min':
      return a < b ? a : b;
    case 'max':
      return a > b ? a : b;
  }
}

function ref32(op: ReduceOp, a: number, b: number): number {
  const r = ref64(op, BigInt(a), BigInt(b));
  return Number(BigInt.asIntN(32, r));
}

describe('reduceInto', () => {
  for (const op of REDUCE_OPS) {
    it(`BigInt64 ${op} is exact modulo 2^64 (edge values and 4,000 random pairs)`, () => {
      const as: bigint[] = [];
      const bs: bigint[] = [];
      for (const a of EDGE64) for (const b of EDGE64) (as.push(a), bs.push(b));
      for (let i = 0; i < 4000; i++) (as.push(randomInt64()), bs.push(randomInt64()));
      const t = BigInt64Array.from(as);
      reduceInto(op, t, BigInt64Array.from(bs));
      const want = as.map((a, i) => ref64(op, a, bs[i] as bigint));
      expect([...t]).toEqual(want);
    });

    it(`Int32 ${op} is exact modulo 2^32, like C (edge values and 4,000 random pairs)`, () => {
      const as: number[] = [];
      const bs: number[] = [];
      for (const a of EDGE32) for (const b of EDGE32) (as.push(a), bs.push(b));
      for (let i = 0; i < 4000; i++) (as.push(rng.u32() | 0), bs.push(rng.u32() | 0));
      const t = Int32Array.from(as);
      reduceInto(op, t, Int32Array.from(bs));
      expect([...t]).toEqual(as.map((a, i) => ref32(op, a, bs[i] as number)));
    });

    it(`Float64 / Float32 ${op} match IEEE arithmetic of the array's precision`, () => {
      const as = Array.from({ length: 2000 }, () => (rng.next() - 0.5) * 1e6);
      const bs = Array.from({ length: 2000 }, () => (rng.next() - 0.5) * 1e-3);
      const f = (a: number, b: number): number =>
        op === 'sum' ? a + b : op === 'prod' ? a * b : op === 'min' ? Math.min(a, b) : Math.max(a, b);
      const t64 = Float64Array.from(as);
      reduceInto(op, t64, Float64Array.from(bs));
      expect([...t64]).toEqual(as.map((a, i) => f(a, bs[i] as number)));
      const a32 = Float32Array.from(as);
      const b32 = Float32Array.from(bs);
      const t32 = Float32Array.from(a32);
      reduceInto(op, t32, b32);
      // One rounding to float32 per operation.
      expect([...t32]).toEqual([...a32].map((a, i) => Math.fround(f(a, b32[i] as number))));
    });
  }

  it('every operator is commutative bit for bit (partners in recursive doubling agree), NaN and -0 included', () => {
    const specials = [NaN, -0, 0, Infinity, -Infinity, 1e-310, -1.5, 3];
    for (const op of REDUCE_OPS) {
      for (const a of specials) {
        for (const b of specials) {
          const x = Float64Array.of(a);
          const y = Float64Array.of(b);
          reduceInto(op, x, Float64Array.of(b));
          reduceInto(op, y, Float64Array.of(a));
          expect(Object.is(x[0], y[0])).toBe(true);
        }
      }
    }
    const nan = Float64Array.of(1);
    reduceInto('min', nan, Float64Array.of(NaN));
    expect(nan[0]).toBeNaN();
    const z = Float64Array.of(0);
    reduceInto('min', z, Float64Array.of(-0));
    expect(Object.is(z[0], -0)).toBe(true);
  });

  it('works on views at an offset and leaves the rest of the buffer alone', () => {
    const big = new BigInt64Array(6).fill(7n);
    reduceInto('sum', big.subarray(2, 4), BigInt64Array.of(1n, -8n));
    expect([...big]).toEqual([7n, 7n, 8n, -1n, 7n, 7n]);
    const ints = new Int32Array(5).fill(2);
    reduceInto('prod', ints.subarray(1, 3), Int32Array.of(3, 4));
    expect([...ints]).toEqual([2, 6, 8, 2, 2]);
  });

  it('empty arrays are fine', () => {
    const t = new Float64Array(0);
    reduceInto('sum', t, new Float64Array(0));
    expect(t.length).toBe(0);
  });

  it('rejects mismatched or unsupported arrays and unknown operators', () => {
    expect(() => reduceInto('sum', new Float64Array(2), new Float32Array(2))).toThrow(/same type/);
    expect(() => reduceInto('sum', new Float64Array(2), new Float64Array(3))).toThrow(RangeError);
    expect(() => reduceInto('sum', new Uint8Array(2) as never, new Uint8Array(2) as never)).toThrow(
      /reduceInto: target must be a Float64Array, Float32Array, Int32Array or BigInt64Array, got Uint8Array/,
    );
    expect(() => reduceInto('avg' as ReduceOp, new Int32Array(1), new Int32Array(1))).toThrow(/op must be one of 'sum', 'prod', 'min', 'max', got "avg"/);
  });

  it('allocLike makes a zeroed array of the same type', () => {
    for (const a of [new Float64Array(1), new Float32Array(1), new Int32Array(1), new BigInt64Array(1)]) {
      const b = allocLike(a, 3);
      expect(b.constructor).toBe(a.constructor);
      expect(b.length).toBe(3);
      expect([...b].every((x) => x === 0 || x === 0n)).toBe(true);
    }
  });
});
