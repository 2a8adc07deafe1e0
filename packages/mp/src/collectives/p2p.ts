/**
 * What the collectives need from a communicator: point-to-point send and
 * receive with exact sources. Every collective in this package is written
 * against {@link PointToPoint} only, so it runs over the verbs transport,
 * over an in-memory fake in the unit tests, or over anything else.
 *
 * ## Tag space: how collectives never meet user messages
 * A communicator gives its collectives a {@link PointToPoint} bound to a
 * *separate context* (its own matching engine; the context id travels in the
 * wire header), so no user receive, not even `ANY_SOURCE`/`ANY_TAG`, can take
 * a collective's message. Inside that context each collective uses the tags
 * `[0, COLLECTIVE_TAG_SPAN)` ({@link COLLECTIVE_TAGS}). Collectives complete
 * in call order on every rank, so tags may repeat from call to call (pairs of
 * ranks meet in the same order); a communicator that lets collectives
 * overlap gives call number `k` the view {@link offsetTags}`(p2p, (k % 2^20)
 * * COLLECTIVE_TAG_SPAN)` so overlapping calls stay apart.
 *
 * ## Errors
 * Collectives are async: a bad argument (`TypeError`/`RangeError`) arrives
 * as the returned promise's rejection, before this rank sends anything. A
 * peer that sends a different length than this rank expects makes it reject
 * with MpError `'EINVAL'` (shorter) or the transport's `'ETRUNC'` (longer);
 * transport failures (`'EPEERDEAD'`, ...) pass through unchanged.
 *
 * ## Buffering
 * No collective assumes a send completes before its receiver posts the
 * matching receive (rendezvous sends do not): every step that both sends and
 * receives runs the two concurrently.
 * @module
 */
import { MpError } from '../errors.js';

/** Point-to-point messaging the collectives are built on. */
export interface PointToPoint {
  /** This process's rank, in `[0, size)`. */
  readonly rank: number;
  /** Number of ranks. */
  readonly size: number;
  /**
   * Sends `data` to `dest` with `tag`; resolves when `data` may be reused
   * (which may need the receiver to post its receive: collectives never
   * rely on buffering).
   */
  send(dest: number, tag: number, data: Uint8Array): Promise<void>;
  /**
   * Receives the next message from `source` with `tag` into `into`; resolves
   * with its length. Rejects (MpError `'ETRUNC'`) when it does not fit.
   */
  recv(source: number, tag: number, into: Uint8Array): Promise<number>;
}

/** Tags each collective family uses inside the collective context. */
export const COLLECTIVE_TAGS = {
  /** {@link barrier}. */
  barrier: 1,
  /** {@link bcast} and its variants. */
  bcast: 2,
  /** {@link reduce}. */
  reduce: 3,
  /** {@link allreduce} and its variants. */
  allreduce: 4,
  /** {@link allgather}. */
  allgather: 5,
  /** {@link gather}. */
  gather: 6,
  /** {@link scatter}. */
  scatter: 7,
  /** {@link alltoall}. */
  alltoall: 8,
} as const;

/** Tags reserved per collective call (see {@link offsetTags}). */
export const COLLECTIVE_TAG_SPAN = 16;

/**
 * A view of `p2p` whose tags are shifted by `base`, for overlapping
 * collective calls (each call gets its own tag window).
 * @throws RangeError when `base` is not a non-negative integer.
 */
export function offsetTags(p2p: PointToPoint, base: number): PointToPoint {
  if (!Number.isInteger(base) || base < 0) throw new RangeError(`offsetTags: base must be a non-negative integer, got ${base}`);
  if (base === 0) return p2p;
  return {
    rank: p2p.rank,
    size: p2p.size,
    send: (dest, tag, data) => p2p.send(dest, tag + base, data),
    recv: (source, tag, into) => p2p.recv(source, tag + base, into),
  };
}

/** @internal A zero-length buffer for synchronisation messages (nothing is ever written to it). */
export const EMPTY = new Uint8Array(0);

/** @internal The bytes of a typed array (a view, no copy). */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** @internal Checks a `PointToPoint` enough to fail early with a clear message. */
export function checkP2p(method: string, p2p: unknown): PointToPoint {
  const p = p2p as Partial<PointToPoint> | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.send !== 'function' ||
    typeof p.recv !== 'function' ||
    !Number.isInteger(p.size) ||
    !Number.isInteger(p.rank) ||
    (p.size as number) < 1 ||
    (p.rank as number) < 0 ||
    (p.rank as number) >= (p.size as number)
  ) {
    throw new TypeError(`${method}: p2p must be a PointToPoint ({ rank, size, send, recv } with 0 <= rank < size)`);
  }
  return p as PointToPoint;
}

/**
 * @internal Outstanding operations of one collective. Each promise gets a
 * handler at once (a rejection while the algorithm awaits something else
 * must not surface as an unhandled rejection); {@link settle} rethrows the
 * first failure.
 */
export class Outstanding {
  readonly #list: Promise<unknown>[] = [];

  add<T>(p: Promise<T>): Promise<T> {
    p.catch(ignore);
    this.#list.push(p);
    return p;
  }

  async settle(): Promise<void> {
    await Promise.all(this.#list);
  }
}

function ignore(): void {}

/**
 * @internal Receives a message that must fill `into` exactly: a shorter one
 * means the ranks called the collective with different sizes.
 */
export async function recvExact(p2p: PointToPoint, source: number, tag: number, into: Uint8Array): Promise<void> {
  const n = await p2p.recv(source, tag, into);
  if (n !== into.length) {
    throw new MpError(
      { code: 'EINVAL', peer: source, tag, length: n, capacity: into.length },
      `collective mismatch: rank ${source} sent ${n} bytes where ${into.length} were expected (do all ranks pass the same sizes?)`,
    );
  }
}

/** @internal A send and a receive of one step, concurrently (never a send before a receive: no buffering assumed). */
export async function exchange(
  p2p: PointToPoint,
  dest: number,
  sendData: Uint8Array,
  source: number,
  into: Uint8Array,
  tag: number,
): Promise<void> {
  await Promise.all([p2p.send(dest, tag, sendData), recvExact(p2p, source, tag, into)]);
}

/** @internal The lowest power of two >= n (n >= 1). */
export function ceilPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** @internal The highest power of two <= n (n >= 1). */
export function floorPow2(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
