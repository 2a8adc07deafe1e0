/**
 * Argument checks of message passing, built on the one checking helper of
 * rdmajs (`@rdmajs/verbs/check`: `int`, and `show` for the received value),
 * so every message reads `<method>: <name> must be ..., got ...`. Wrong
 * types throw `TypeError`, right types out of range throw `RangeError`.
 * @internal
 * @module
 */
import { int, show } from '@rdmajs/verbs/check';

export { int };

import { ANY_SOURCE, ANY_TAG, MAX_SIZE, REDUCE_OPS, TAG_UB, type ReduceOp, type ReducibleArray } from './types.js';

/** @internal A communicator size. */
export function size(method: string, value: unknown): number {
  return int(method, 'size', value, 1, MAX_SIZE);
}

/** @internal A rank in `[0, size)` (a destination, a root). */
export function rank(method: string, name: string, value: unknown, commSize: number): number {
  return int(method, name, value, 0, commSize - 1);
}

/** @internal A receive's source: a rank or `ANY_SOURCE`. */
export function source(method: string, value: unknown, commSize: number): number {
  if (value === ANY_SOURCE) return value;
  return int(method, 'source', value, 0, commSize - 1);
}

/** @internal A send's tag: `[0, TAG_UB]`. */
export function tag(method: string, value: unknown): number {
  return int(method, 'tag', value, 0, TAG_UB);
}

/** @internal A receive's tag: `[0, TAG_UB]` or `ANY_TAG`. */
export function recvTag(method: string, value: unknown): number {
  if (value === ANY_TAG) return value;
  return int(method, 'tag', value, 0, TAG_UB);
}

/** @internal A byte length. */
export function length(method: string, name: string, value: unknown): number {
  return int(method, name, value, 0, Number.MAX_SAFE_INTEGER);
}

/** @internal Any typed array or DataView, seen as its bytes (no copy). */
export function bytes(method: string, name: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (!ArrayBuffer.isView(value)) throw new TypeError(`${method}: ${name} must be a typed array, Buffer or DataView, got ${show(value)}`);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** @internal A typed array a reduction accepts. */
export function reducible(method: string, name: string, value: unknown): ReducibleArray {
  if (value instanceof Float64Array || value instanceof Float32Array || value instanceof Int32Array || value instanceof BigInt64Array) {
    return value;
  }
  throw new TypeError(`${method}: ${name} must be a Float64Array, Float32Array, Int32Array or BigInt64Array, got ${show(value)}`);
}

/** @internal Two reducible arrays of the same type and length. */
export function sameShape(method: string, a: ReducibleArray, b: ReducibleArray): void {
  if (a.constructor !== b.constructor) throw new TypeError(`${method}: arrays must have the same type, got ${show(a)} and ${show(b)}`);
  if (a.length !== b.length) throw new RangeError(`${method}: arrays must have the same length, got ${a.length} and ${b.length}`);
}

/** @internal A reduction operator. */
export function op(method: string, value: unknown): ReduceOp {
  if (typeof value !== 'string' || !(REDUCE_OPS as readonly string[]).includes(value)) {
    throw new TypeError(`${method}: op must be one of ${REDUCE_OPS.map((o) => `'${o}'`).join(', ')}, got ${show(value)}`);
  }
  return value as ReduceOp;
}
