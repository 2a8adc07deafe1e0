/**
 * Elementwise reduction of typed arrays: `target[i] = target[i] op source[i]`.
 *
 * Semantics, chosen so every operator is commutative bit for bit (two
 * partners that combine each other's data in recursive doubling must end
 * with the same bits):
 * - floats: IEEE arithmetic of the array's precision (Float32 rounds each
 *   result once); `min`/`max` follow `Math.min`/`Math.max` (NaN wins, -0 < +0);
 * - Int32: wraps modulo 2^32 like two's-complement C (`sum` and `prod`);
 * - BigInt64: wraps modulo 2^64; computed on the two 32-bit halves so the
 *   loop allocates no bigint per element.
 *
 * No loop allocates: each pass is a plain indexed loop over the arrays.
 * @module
 */
import * as check from './check.js';
import type { ReduceOp, ReducibleArray } from './types.js';

// Index of the low and high 32-bit word of a 64-bit element in a Uint32Array view.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;
const TWO32 = 0x1_0000_0000;

/**
 * Combines `source` into `target` elementwise with `op`.
 * @throws TypeError when the arrays are not both Float64Array, Float32Array, Int32Array or BigInt64Array of
 *   the same type, or `op` is not a {@link ReduceOp}; RangeError when their lengths differ.
 */
export function reduceInto(op: ReduceOp, target: ReducibleArray, source: ReducibleArray): void {
  check.op('reduceInto', op);
  check.reducible('reduceInto', 'target', target);
  check.reducible('reduceInto', 'source', source);
  check.sameShape('reduceInto', target, source);
  if (target instanceof Int32Array) reduceInt32(op, target, source as Int32Array);
  else if (target instanceof BigInt64Array) reduceInt64(op, target, source as BigInt64Array);
  else reduceFloat(op, target, source as Float64Array | Float32Array);
}

/**
 * A zeroed array of the same type as `like`, `length` elements long.
 * @throws RangeError for a negative or too large length.
 */
export function allocLike<T extends ReducibleArray>(like: T, length: number): T {
  if (like instanceof Float64Array) return new Float64Array(length) as T;
  if (like instanceof Float32Array) return new Float32Array(length) as T;
  if (like instanceof Int32Array) return new Int32Array(length) as T;
  return new BigInt64Array(length) as T;
}

function reduceFloat(op: ReduceOp, t: Float64Array | Float32Array, s: Float64Array | Float32Array): void {
  const n = t.length;
  switch (op) {
    case 'sum':
      for (let i = 0; i < n; i++) t[i] = (t[i] as number) + (s[i] as number);
      return;
    case 'prod':
      for (let i = 0; i < n; i++) t[i] = (t[i] as number) * (s[i] as number);
      return;
    case 'min':
      for (let i = 0; i < n; i++) t[i] = Math.min(t[i] as number, s[i] as number);
      return;
    case 'max':
      for (let i = 0; i < n; i++) t[i] = Math.max(t[i] as number, s[i] as number);
      return;
  }
}

function reduceInt32(op: ReduceOp, t: Int32Array, s: Int32Array): void {
  const n = t.length;
  switch (op) {
    case 'sum':
      for (let i = 0; i < n; i++) t[i] = ((t[i] as number) + (s[i] as number)) | 0;
      return;
    case 'prod':
      for (let i = 0; i < n; i++) t[i] = Math.imul(t[i] as number, s[i] as number);
      return;
    case 'min':
      for (let i = 0; i < n; i++) if ((s[i] as number) < (t[i] as number)) t[i] = s[i] as number;
      return;
    case 'max':
      for (let i = 0; i < n; i++) if ((s[i] as number) > (t[i] as number)) t[i] = s[i] as number;
      return;
  }
}

function reduceInt64(op: ReduceOp, target: BigInt64Array, source: BigInt64Array): void {
  // Two's complement: sum and product modulo 2^64 are the same for signed and
  // unsigned operands, so they run on unsigned 32-bit halves.
  const t = new Uint32Array(target.buffer, target.byteOffset, target.length * 2);
  const s = new Uint32Array(source.buffer, source.byteOffset, source.length * 2);
  const n = t.length;
  switch (op) {
    case 'sum':
      for (let j = 0; j < n; j += 2) {
        const lo = (t[j + LO] as number) + (s[j + LO] as number);
        const carry = lo >= TWO32 ? 1 : 0;
        t[j + LO] = lo; // Uint32Array stores wrap modulo 2^32
        t[j + HI] = (t[j + HI] as number) + (s[j + HI] as number) + carry;
      }
      return;
    case 'prod':
      for (let j = 0; j < n; j += 2) {
        const al = t[j + LO] as number;
        const ah = t[j + HI] as number;
        const bl = s[j + LO] as number;
        const bh = s[j + HI] as number;
        // al*bl exactly, from 16-bit halves (each partial product < 2^32).
        const a0 = al & 0xffff;
        const a1 = al >>> 16;
        const b0 = bl & 0xffff;
        const b1 = bl >>> 16;
        const mid = a0 * b1 + a1 * b0; // < 2^33
        const low = a0 * b0 + (mid % 0x10000) * 0x10000; // < 2^33
        const carry = low >= TWO32 ? 1 : 0;
        // High word: a1*b1 + mid's upper part + carry + the cross terms that land in bits 32..63.
        const high = a1 * b1 + Math.floor(mid / 0x10000) + carry + (Math.imul(al, bh) >>> 0) + (Math.imul(ah, bl) >>> 0);
        t[j + LO] = low;
        t[j + HI] = high; // < 2^35: exact, wraps on store
      }
      return;
    case 'min':
      for (let j = 0; j < n; j += 2) {
        const th = (t[j + HI] as number) | 0;
        const sh = (s[j + HI] as number) | 0;
        if (sh < th || (sh === th && (s[j + LO] as number) < (t[j + LO] as number))) {
          t[j + LO] = s[j + LO] as number;
          t[j + HI] = s[j + HI] as number;
        }
      }
      return;
    case 'max':
      for (let j = 0; j < n; j += 2) {
        const th = (t[j + HI] as number) | 0;
        const sh = (s[j + HI] as number) | 0;
        if (sh > th || (sh === th && (s[j + LO] as number) > (t[j + LO] as number))) {
          t[j + LO] = s[j + LO] as number;
          t[j + HI] = s[j + HI] as number;
        }
      }
      return;
  }
}
