/**
 * A registration cache: memory regions for the caller's own buffers, kept
 * registered between uses.
 *
 * Why cache: sending straight from a user's buffer (zero-copy), or letting
 * a peer RDMA-READ it (rendezvous), needs that buffer registered, and
 * `ibv_reg_mr` is expensive: a system call that pins every page and builds
 * the NIC's translation table, costing more than copying tens of KiB. Many
 * applications reuse the same buffers (a send buffer per peer, a payload
 * sent again and again), so a region registered once and kept afterwards
 * pays for itself from the second use on. Deregistering is costly too, so a
 * region is not dropped when a use ends; it stays idle in the cache until
 * room is needed.
 *
 * What the cache guarantees:
 * - A region is never deregistered while acquired ({@link RegistrationCache.acquire}
 *   not yet matched by {@link RegistrationCache.release}) or while work
 *   requests posted with it are in flight ({@link MemoryRegion.inflight}):
 *   the NIC never touches memory that was given back.
 * - Pinned memory is bounded: at most `maxEntries` regions and `maxBytes`
 *   registered bytes, acquired and idle together. Idle regions are evicted
 *   least recently used first; when only acquired regions are left, a new
 *   buffer is simply not registered (`acquire` returns `undefined`).
 * - Memory the NIC must not get is never registered: detached, resizable or
 *   growable buffers, and slices of Node's shared Buffer pool.
 * @module
 */
import { assertOpen, instance, optInt } from './check.js';
import { accessMask, accessNames, type Access } from './constants.js';
import { rdmaError } from './errors.js';
import { MemoryRegion } from './mr.js';
import { ProtectionDomain } from './pd.js';

/** Options of {@link RegistrationCache}. */
export interface RegistrationCacheOptions {
  /**
   * Rights of every region the cache registers. Default `['LOCAL_WRITE']`:
   * local sends from the memory and local writes into it (receives, RDMA
   * READ targets), nothing a peer can reach.
   *
   * Rights cover the **whole ArrayBuffer** behind a view, not only the
   * view, and last as long as the region stays cached, idle or not: with
   * `REMOTE_READ` a peer that learnt the rkey can read any byte of that
   * ArrayBuffer until the region is evicted. Ask for remote rights only in
   * a cache whose buffers you would hand to that peer anyway (e.g.
   * rendezvous sends: `['REMOTE_READ']`). `REMOTE_WRITE` and
   * `REMOTE_ATOMIC` need `LOCAL_WRITE` too. An empty list gives local
   * reads only (zero-copy sends).
   */
  access?: readonly Access[];
  /** Cached regions at most, acquired and idle together. Default 64. */
  maxEntries?: number;
  /** Registered (pinned) bytes at most, acquired and idle together. Default 1 GiB. */
  maxBytes?: number;
  /**
   * A view whose ArrayBuffer is larger than this is never registered
   * (`acquire` returns `undefined`): pinning a huge buffer for a small view
   * of it costs more than it saves. Default: `maxBytes`.
   */
  maxRegion?: number;
  /**
   * Register an ArrayBuffer the Nth time it is acquired: 1 registers at
   * once; 2 (what `@rdmajs/sdp` uses) leaves one-off buffers to be copied
   * and registers those that come back. Counting is per ArrayBuffer and
   * holds no reference to it. Default 1.
   */
  registerOnUse?: number;
}

/**
 * One use of a cached region: plain data. `mr` covers the view's whole
 * ArrayBuffer; the view's bytes are `[offset, offset + view.byteLength)` of
 * it, so a scatter/gather entry is `{ mr, offset, length: view.byteLength }`
 * and a peer's target is `mr.remote(offset, view.byteLength)`.
 *
 * Do not close `mr`: the cache owns it. Hand the object back to
 * {@link RegistrationCache.release} once the work requests using it completed.
 */
export interface Registration {
  /** The region: covers the view's whole ArrayBuffer. */
  readonly mr: MemoryRegion;
  /** The view's byteOffset inside `mr`. */
  readonly offset: number;
}

interface Entry {
  readonly ab: ArrayBufferLike;
  readonly mr: MemoryRegion;
  /** Registered bytes (the ArrayBuffer's length then; it may be detached since). */
  readonly size: number;
  /** Acquisitions not released yet. */
  uses: number;
  /** The registration of offset 0, handed out again on every such hit. */
  readonly whole: Registration;
}

const M_ACQUIRE = 'RegistrationCache.acquire';
const M_RELEASE = 'RegistrationCache.release';

/**
 * Caches memory regions of user buffers, keyed by ArrayBuffer, bounded,
 * least recently used idle regions evicted first.
 *
 * ```ts
 * const cache = new RegistrationCache(pd, { access: ['REMOTE_READ'], registerOnUse: 2 });
 * const reg = cache.acquire(buf);              // undefined: copy instead
 * if (reg) {
 *   qp.postSend({ opcode: 'SEND', sg: [{ mr: reg.mr, offset: reg.offset, length: buf.length }] });
 *   // ...after its completion was polled:
 *   cache.release(reg);
 * }
 * ```
 *
 * A region is pinned from `acquire` until the matching `release`; the
 * caller releases only when the work requests that use it have completed
 * (or were flushed). Idle regions stay registered, pinning their memory and
 * keeping their ArrayBuffer alive, until evicted or {@link close}d: that is
 * the point of caching, and `maxEntries`/`maxBytes` bound it.
 *
 * The regions are children of the protection domain: closing the PD
 * deregisters them all, and the cache then behaves as closed.
 */
export class RegistrationCache implements Disposable {
  /** The protection domain the regions are registered in. */
  readonly pd: ProtectionDomain;
  /** Rights of every region (see {@link RegistrationCacheOptions.access}). */
  readonly access: readonly Access[];
  /** Cached regions at most (see {@link RegistrationCacheOptions.maxEntries}). */
  readonly maxEntries: number;
  /** Pinned bytes at most (see {@link RegistrationCacheOptions.maxBytes}). */
  readonly maxBytes: number;
  /** Largest ArrayBuffer it registers, in bytes (see {@link RegistrationCacheOptions.maxRegion}). */
  readonly maxRegion: number;
  /** Acquisitions before an ArrayBuffer is registered (see {@link RegistrationCacheOptions.registerOnUse}). */
  readonly registerOnUse: number;

  // Map order is use order: the first entry is the least recently used.
  // The Map holds its ArrayBuffers strongly, as the regions do anyway (a
  // region keeps its memory alive until deregistered); it is bounded by
  // maxEntries. Buffers not registered yet are only counted, weakly.
  readonly #entries = new Map<ArrayBufferLike, Entry>();
  readonly #seen = new WeakMap<ArrayBufferLike, number>();
  #bytes = 0;
  #closed = false;

  /**
   * @throws TypeError if `pd` is not a ProtectionDomain or `options` not an object.
   * @throws RangeError for an unknown access name, a bound out of range, or
   *   `REMOTE_WRITE`/`REMOTE_ATOMIC` without `LOCAL_WRITE`.
   * @throws RdmaError `EBADF` if the PD is closed.
   */
  constructor(pd: ProtectionDomain, options: RegistrationCacheOptions = {}) {
    const m = 'new RegistrationCache';
    this.pd = instance(m, 'pd', pd, ProtectionDomain);
    if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
    assertOpen(pd.closed, m, 'ProtectionDomain');
    const mask = accessMask(m, options.access ?? ['LOCAL_WRITE']);
    const access = accessNames(mask);
    if ((access.includes('REMOTE_WRITE') || access.includes('REMOTE_ATOMIC')) && !access.includes('LOCAL_WRITE')) {
      throw new RangeError(`${m}: access REMOTE_WRITE and REMOTE_ATOMIC need LOCAL_WRITE too`);
    }
    this.access = Object.freeze(access);
    this.maxEntries = optInt(m, 'maxEntries', options.maxEntries, 64, 1, 2 ** 31);
    this.maxBytes = optInt(m, 'maxBytes', options.maxBytes, 2 ** 30, 1, Number.MAX_SAFE_INTEGER);
    this.maxRegion = optInt(m, 'maxRegion', options.maxRegion, this.maxBytes, 1, Number.MAX_SAFE_INTEGER);
    this.registerOnUse = optInt(m, 'registerOnUse', options.registerOnUse, 1, 1, 2 ** 31);
  }

  /**
   * The region covering `view`, registering its whole ArrayBuffer on a
   * miss; the region is pinned (never evicted) until {@link release}.
   * Allocates nothing on a hit at offset 0, one small object at another
   * offset; refreshes the region's place in the LRU order.
   *
   * Returns `undefined` (use a copy instead) when the buffer is not
   * registrable or not worth it: acquired fewer than `registerOnUse`
   * times, larger than `maxRegion`, detached, empty, resizable/growable, a
   * slice of Node's shared Buffer pool (other Buffers share that memory:
   * with remote rights a peer could reach them, and the pool's small slices
   * are cheaper to copy anyway), no room left because every cached region
   * is acquired or in flight, or the registration itself failed (e.g. the
   * locked-memory limit). It never throws for those.
   *
   * @throws TypeError if `view` is not an ArrayBufferView (Buffer, TypedArray, DataView).
   * @throws RdmaError `EBADF` after {@link close}, or once the PD is closed.
   */
  acquire(view: ArrayBufferView): Registration | undefined {
    if (!ArrayBuffer.isView(view)) throw new TypeError(`${M_ACQUIRE}: view must be a Buffer, TypedArray or DataView`);
    if (this.#closed || this.pd.closed) {
      this.#shut();
      throw rdmaError(M_ACQUIRE, 'EBADF', this.#closed ? 'RegistrationCache is closed' : 'its ProtectionDomain is closed');
    }
    const ab = view.buffer;
    const size = ab.byteLength; // 0 when detached
    if (size === 0 || size > this.maxRegion) return undefined;
    if (Buffer.isBuffer(view) && size === Buffer.poolSize && view.byteLength < size) return undefined; // a pooled slice: see above
    let e = this.#entries.get(ab);
    if (e !== undefined && e.mr.closed) {
      this.#drop(e); // someone closed our region: register again
      e = undefined;
    }
    if (e === undefined) {
      e = this.#register(ab, size);
      if (e === undefined) return undefined;
    } else {
      this.#entries.delete(ab);
      this.#entries.set(ab, e);
    }
    e.uses++;
    const offset = view.byteOffset;
    return offset === 0 ? e.whole : { mr: e.mr, offset };
  }

  /**
   * Ends one use of a registration from {@link acquire}: call it once the
   * work requests using it have completed. The region stays cached, idle
   * (evictable) once its last use is released; after {@link close} it is
   * deregistered then. If work requests still use it (released too early)
   * it cannot be deregistered: the cache keeps it, and after close the PD
   * deregisters it when closed.
   *
   * @throws TypeError if `reg` is not a Registration.
   * @throws RangeError if `reg` was not acquired from this cache, or was
   *   released more often than acquired.
   */
  release(reg: Registration): void {
    if (typeof reg !== 'object' || reg === null || !(reg.mr instanceof MemoryRegion)) {
      throw new TypeError(`${M_RELEASE}: reg must be a Registration from acquire()`);
    }
    const e = this.#entries.get(reg.mr.buffer.buffer);
    if (e === undefined || e.mr !== reg.mr || e.uses === 0) {
      throw new RangeError(`${M_RELEASE}: reg is not acquired from this cache (released twice?)`);
    }
    e.uses--;
    if (e.uses === 0 && (this.#closed || this.pd.closed)) this.#evict(e);
  }

  /** Registered bytes the cache holds (acquired and idle). */
  get bytes(): number {
    if (this.pd.closed) this.#shut();
    return this.#bytes;
  }

  /** Regions the cache holds (acquired and idle). */
  get size(): number {
    if (this.pd.closed) this.#shut();
    return this.#entries.size;
  }

  /** True after {@link close}, or once the PD is closed. */
  get closed(): boolean {
    return this.#closed || this.pd.closed;
  }

  /**
   * Deregisters every idle region; regions still acquired are deregistered
   * when released. Later {@link acquire} calls throw `EBADF`; `release`
   * keeps working. Harmless when already closed. Never throws.
   */
  close(): void {
    this.#shut();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ---- internals ------------------------------------------------------

  #shut(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) if (e.uses === 0) this.#evict(e);
  }

  #register(ab: ArrayBufferLike, size: number): Entry | undefined {
    if (this.registerOnUse > 1) {
      const n = (this.#seen.get(ab) ?? 0) + 1;
      if (n < this.registerOnUse) {
        this.#seen.set(ab, n);
        return undefined;
      }
      // Kept at the threshold: evicted and wanted again, it registers at once.
      if (n === this.registerOnUse) this.#seen.set(ab, n);
    }
    if (!this.#makeRoom(size)) return undefined;
    let mr: MemoryRegion;
    try {
      // The ArrayBuffer itself, whole: every view of it hits.
      mr = this.pd.registerMemory(ab as ArrayBuffer, this.access);
    } catch {
      return undefined; // resizable, out of pinnable memory...: the caller copies
    }
    const e: Entry = { ab, mr, size, uses: 0, whole: Object.freeze({ mr, offset: 0 }) };
    this.#entries.set(ab, e);
    this.#bytes += size;
    return e;
  }

  // Evicts idle regions, least recently used first, until `size` more bytes
  // and one more entry fit. Acquired or in-flight regions stay.
  #makeRoom(size: number): boolean {
    if (size > this.maxBytes) return false;
    if (this.#fits(size)) return true;
    for (const e of this.#entries.values()) {
      if (e.uses === 0 && e.mr.inflight === 0 && this.#evict(e) && this.#fits(size)) return true;
    }
    return false;
  }

  #fits(size: number): boolean {
    return this.#entries.size < this.maxEntries && this.#bytes + size <= this.maxBytes;
  }

  // Deregisters; false (entry kept) if work requests still use the region.
  #evict(e: Entry): boolean {
    try {
      e.mr.close();
    } catch {
      return false;
    }
    this.#drop(e);
    return true;
  }

  #drop(e: Entry): void {
    this.#entries.delete(e.ab);
    this.#bytes -= e.size;
  }
}
