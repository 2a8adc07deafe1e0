/**
 * Options of a rendezvous session and their checks: what the caller gives
 * ({@link RendezvousOptions}), what the sessions run on (`Checked`, every
 * default filled in), and the JSON check of a payload.
 * @module
 */
import { MAX_SIZE, type HostPort } from '../types.js';
import { MAX_FRAME_BYTES } from './frame.js';

/** Default bound of each rendezvous wait (connecting, each round). */
export const RENDEZVOUS_TIMEOUT_MS = 60_000;

/** Options of {@link openRendezvous}. */
export interface RendezvousOptions {
  /** This process's rank, in `[0, size)`; rank 0 serves the rendezvous. */
  rank: number;
  /** Number of ranks, in `[1, MAX_SIZE]`. */
  size: number;
  /** Where rank 0 listens and the others connect. Needed when `size > 1`; rank 0 may give port 0 (any free port, see {@link Rendezvous.address}). */
  root?: HostPort;
  /** Bound of opening and of each round, in ms (default {@link RENDEZVOUS_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Aborts the whole session: the pending operation rejects with `'ECANCELED'` and the sockets close. */
  signal?: AbortSignal;
  /** Largest frame sent or accepted (default {@link MAX_FRAME_BYTES}). */
  maxFrameBytes?: number;
  /** Rank 0 only: the address to bind, when it differs from `root.host` (e.g. `'0.0.0.0'` behind NAT). */
  listenHost?: string;
}

/** Options of {@link exchange}: those of {@link openRendezvous}, plus this rank's blob. */
export interface ExchangeOptions extends RendezvousOptions {
  /** This rank's contribution; anything `JSON.stringify` takes (`undefined` becomes `null`). */
  payload: unknown;
}

/** Options with every default filled in; what the sessions run on. */
export interface Checked {
  rank: number;
  size: number;
  root: HostPort | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  maxFrameBytes: number;
  listenHost: string | undefined;
}

/**
 * Checks `o` and fills in the defaults.
 * @throws TypeError / RangeError for a malformed rank, size, root, timeout, frame bound, signal or listen host.
 */
export function checkOptions(o: RendezvousOptions): Checked {
  if (typeof o !== 'object' || o === null) throw new TypeError('rendezvous options must be an object');
  const { rank, size } = o;
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_SIZE) throw new RangeError(`size must be an integer in 1..${MAX_SIZE}, got ${String(size)}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= size) throw new RangeError(`rank must be an integer in 0..${size - 1}, got ${String(rank)}`);
  const timeoutMs = o.timeoutMs ?? RENDEZVOUS_TIMEOUT_MS;
  // setTimeout fires at once for anything above 2^31-1 ms.
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 0x7fff_ffff) throw new RangeError(`timeoutMs must be in (0, 2^31), got ${String(timeoutMs)}`);
  const maxFrameBytes = o.maxFrameBytes ?? MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 64 || maxFrameBytes > 0xffff_ffff) {
    throw new RangeError(`maxFrameBytes must be an integer in 64..2^32-1, got ${String(maxFrameBytes)}`);
  }
  const root = o.root;
  if (root !== undefined) {
    if (typeof root !== 'object' || root === null || typeof root.host !== 'string' || root.host === '') throw new TypeError('root must be { host, port }');
    const lowest = rank === 0 ? 0 : 1;
    if (!Number.isInteger(root.port) || root.port < lowest || root.port > 65535) {
      throw new RangeError(`root.port must be an integer in ${lowest}..65535, got ${String(root.port)}`);
    }
  } else if (size > 1) {
    throw new TypeError('root is required when size > 1 (set RDMAJS_MP_ROOT=host:port, or start the ranks with rdmajs-run)');
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (o.listenHost !== undefined && (typeof o.listenHost !== 'string' || o.listenHost === '')) throw new TypeError('listenHost must be a non-empty string');
  return {
    rank,
    size,
    root: root === undefined ? undefined : { host: root.host, port: root.port },
    timeoutMs,
    signal: o.signal,
    maxFrameBytes,
    listenHost: o.listenHost,
  };
}

/** `payload` after a JSON round trip, checked against the frame bound. */
export function jsonValue(payload: unknown, maxFrameBytes: number): unknown {
  const json = JSON.stringify(payload === undefined ? null : payload);
  if (json === undefined) throw new TypeError('a rendezvous payload must be JSON-able');
  if (Buffer.byteLength(json) > maxFrameBytes) throw new RangeError(`a rendezvous payload of ${Buffer.byteLength(json)} bytes exceeds maxFrameBytes (${maxFrameBytes})`);
  return JSON.parse(json) as unknown;
}
