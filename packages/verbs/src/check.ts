/**
 * Argument and state checks shared by every class: one place decides what a
 * bad value is and how the error reads (`<method>: <what> ...`).
 * @internal
 * @module
 */
import { rdmaError } from './errors.js';

/** @internal Throws EBADF (use after close) naming the verb. */
export function assertOpen(closed: boolean, method: string, what: string): void {
  if (closed) throw rdmaError(method, 'EBADF', `${what} is closed`);
}

/** @internal An integer in [min, max]. */
export function int(method: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${method}: ${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${method}: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** @internal Optional integer with a default. */
export function optInt(method: string, name: string, value: unknown, dflt: number, min: number, max: number): number {
  return value === undefined ? dflt : int(method, name, value, min, max);
}

/** @internal A u64 given as bigint (or a safe non-negative integer). */
export function u64(method: string, name: string, value: unknown): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${method}: ${name} must fit in 64 unsigned bits`);
    return value;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new TypeError(`${method}: ${name} must be a bigint`);
}

/** @internal A plain object (options bag). */
export function obj<T extends object>(method: string, name: string, value: unknown): T {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${method}: ${name} must be an object`);
  return value as T;
}

/** @internal Optional boolean with a default. */
export function optBool(method: string, name: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new TypeError(`${method}: ${name} must be a boolean`);
  return value;
}

/** @internal `instanceof` check with a readable error. */
export function instance<T>(method: string, name: string, value: unknown, cls: abstract new (...args: never[]) => T): T {
  if (!(value instanceof cls)) throw new TypeError(`${method}: ${name} must be a ${cls.name}`);
  return value;
}
