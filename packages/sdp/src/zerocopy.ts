/**
 * Registration cache for zero-copy sends: large writes whose memory is
 * registered go to the peer's ring straight from the caller's buffer
 * instead of through the send mirror.
 *
 * Registering costs a system call and pins pages, more than copying one
 * 64 KiB write, so a buffer is registered the second time it is written
 * (applications that reuse their send buffers, or write the same big
 * payload, pay once); one-off buffers keep being copied. The cache is
 * bounded and holds each region until no work request uses it any more.
 * @module
 */
import type { MemoryRegion, ProtectionDomain } from '@rdmajs/verbs';

/** Cached regions per connection. */
const MAX_ENTRIES = 16;
/** Pinned bytes per connection at most (cached plus in flight). */
const MAX_BYTES = 64 << 20;
/** Larger ArrayBuffers are not registered whole for one write: copied. */
const MAX_REGION = 32 << 20;

interface Entry {
  mr: MemoryRegion;
  /** Registered bytes (the ArrayBuffer's length then; it may be detached since). */
  size: number;
  /** Send chain whose completion ends the last use. */
  lastChain: number;
}

export class ZeroCopyCache {
  // Map order is use order: the first entry is the least recently used.
  readonly #entries = new Map<ArrayBufferLike, Entry>();
  readonly #seen = new WeakSet<ArrayBufferLike>();
  #bytes = 0;

  constructor(readonly pd: ProtectionDomain) {}

  /**
   * The region covering `buf`'s whole ArrayBuffer, or undefined when it is
   * not (yet) worth registering. `chainsDone` tells which cached regions
   * are idle and may be evicted to make room.
   */
  lookup(buf: Buffer, chainsDone: number): MemoryRegion | undefined {
    const ab = buf.buffer;
    const hit = this.#entries.get(ab);
    if (hit) {
      this.#entries.delete(ab);
      this.#entries.set(ab, hit);
      return hit.mr;
    }
    if (!this.#seen.has(ab)) {
      this.#seen.add(ab);
      return undefined;
    }
    const size = ab.byteLength;
    if (size > MAX_REGION || !this.#makeRoom(size, chainsDone)) return undefined;
    let mr: MemoryRegion;
    try {
      mr = this.pd.registerMemory(ab, []);
    } catch {
      return undefined; // resizable, detached, out of pinnable memory: copy instead
    }
    this.#entries.set(ab, { mr, size, lastChain: -1 });
    this.#bytes += size;
    return mr;
  }

  /** Records that `buf`'s region is read by the send chain `chain`. */
  used(buf: Buffer, chain: number): void {
    const e = this.#entries.get(buf.buffer);
    if (e) e.lastChain = chain;
  }

  // Evicts idle regions, least recently used first, until `size` more
  // bytes and one more entry fit. Busy regions stay (the NIC may read them).
  #makeRoom(size: number, chainsDone: number): boolean {
    for (const [ab, e] of this.#entries) {
      if (this.#entries.size < MAX_ENTRIES && this.#bytes + size <= MAX_BYTES) return true;
      if (e.lastChain >= chainsDone) continue;
      try {
        e.mr.close();
      } catch {
        continue; // still referenced by a work request after all: keep it
      }
      this.#entries.delete(ab);
      this.#bytes -= e.size;
    }
    return this.#entries.size < MAX_ENTRIES && this.#bytes + size <= MAX_BYTES;
  }
}
