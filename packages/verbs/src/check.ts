/**
 * The argument-checking helper of rdmajs: one place decides what a bad value
 * is and how the error reads. Every message has one shape,
 * `<method>: <name> must be <expected>, got <received>`; a value of the
 * wrong type throws `TypeError`, a right-typed value out of range
 * `RangeError`, and use after close an {@link RdmaError} `EBADF`.
 *
 * Sibling packages import it as `@rdmajs/verbs/check`: a deliberately
 * unstable subpath (internal to rdmajs; it may change in any release).
 * @internal
 * @module
 */
import { rdmaError } from './errors.js';

/** @internal How a received value reads in a message: `3`, `"text"`, `5n`, `null`, `Buffer`. */
export function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object' && value !== null) return (value.constructor as { name?: string } | undefined)?.name || 'object';
  return String(value);
}

/** @internal Throws EBADF (use after close) naming the verb. */
export function assertOpen(closed: boolean, method: string, what: string): void {
  if (closed) throw rdmaError(method, 'EBADF', `${what} is closed`);
}

/** @internal An integer in [min, max]. */
export function int(method: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${method}: ${name} must be a number, got ${show(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${method}: ${name} must be an integer in [${min}, ${max}], got ${show(value)}`);
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
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${method}: ${name} must be a bigint in [0, 2^64 - 1], got ${show(value)}`);
    return value;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new TypeError(`${method}: ${name} must be a bigint, got ${show(value)}`);
}

/** @internal An integer in [min, max] that is also a power of two (ring sizes). */
export function pow2(method: string, name: string, value: unknown, min: number, max: number): number {
  const v = int(method, name, value, min, max);
  if ((v & (v - 1)) !== 0) throw new RangeError(`${method}: ${name} must be a power of two in [${min}, ${max}], got ${show(v)}`);
  return v;
}

// Work-request fields are checked on the post path: the helpers below build
// the field's name (`wr[3].sg[1].offset`) only when the check fails, so a
// valid request allocates nothing.

function wrName(index: number, field: string, sge: number): string {
  return sge < 0 ? `wr[${index}].${field}` : `wr[${index}].sg[${sge}].${field}`;
}

/** @internal {@link int} for `field` of work request `index` (of its SGE `sge` when given). */
export function wrInt(method: string, index: number, field: string, value: unknown, min: number, max: number, sge = -1): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  return int(method, wrName(index, field, sge), value, min, max);
}

/** @internal A u64 `field` of work request `index`, as a bigint only (a number would cost a BigInt per request). */
export function wrU64(method: string, index: number, field: string, value: unknown): bigint {
  if (typeof value === 'bigint' && value >= 0n && value <= 0xffff_ffff_ffff_ffffn) return value;
  const name = wrName(index, field, -1);
  if (typeof value !== 'bigint') throw new TypeError(`${method}: ${name} must be a bigint, got ${show(value)}`);
  throw new RangeError(`${method}: ${name} must be a bigint in [0, 2^64 - 1], got ${show(value)}`);
}

/** @internal A plain object (options bag). */
export function obj<T extends object>(method: string, name: string, value: unknown): T {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${method}: ${name} must be an object, got ${show(value)}`);
  return value as T;
}

/** @internal Optional boolean with a default. */
export function optBool(method: string, name: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new TypeError(`${method}: ${name} must be a boolean, got ${show(value)}`);
  return value;
}

/** @internal A non-empty string. */
export function str(method: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${method}: ${name} must be a non-empty string, got ${show(value)}`);
  return value;
}

/** @internal One of a few strings, or `dflt` when undefined: TypeError for a non-string, RangeError for another string. */
export function oneOf<T extends string>(method: string, name: string, value: unknown, choices: readonly T[], dflt?: T): T {
  if (value === undefined && dflt !== undefined) return dflt;
  const expected = choices.map((c) => `'${c}'`).join(', ');
  if (typeof value !== 'string') throw new TypeError(`${method}: ${name} must be one of ${expected}, got ${show(value)}`);
  if (!(choices as readonly string[]).includes(value)) throw new RangeError(`${method}: ${name} must be one of ${expected}, got ${show(value)}`);
  return value as T;
}

/** @internal Bytes as a Buffer or Uint8Array, at most `max` long. */
export function bytes(method: string, name: string, value: unknown, max = Infinity): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${method}: ${name} must be a Buffer or Uint8Array, got ${show(value)}`);
  if (value.length > max) throw new RangeError(`${method}: ${name} must be at most ${max} bytes, got ${value.length}`);
  return value;
}

/** @internal `instanceof` check with a readable error. */
export function instance<T>(method: string, name: string, value: unknown, cls: abstract new (...args: never[]) => T): T {
  if (!(value instanceof cls)) throw new TypeError(`${method}: ${name} must be a ${cls.name}, got ${show(value)}`);
  return value;
}

/** @internal The longest delay `setTimeout` honours (longer ones fire at once). */
export const MAX_TIMER_MS = 0x7fff_ffff;
