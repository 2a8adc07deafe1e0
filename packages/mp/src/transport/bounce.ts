/**
 * Bounce buffers: one registered region cut into equal slots, handed out
 * and taken back by index. Eager sends copy through a send pool; the shared
 * receive queue is fed from a receive pool. A free stack of indices, so
 * taking and giving allocate nothing.
 * @internal
 * @module
 */
import type { Access, MemoryRegion, ProtectionDomain } from '@rdmajs/verbs';

export class BouncePool {
  readonly mr: MemoryRegion;
  readonly slots: number;
  readonly slotBytes: number;
  /** The whole region, for header reads and writes. */
  readonly view: DataView;
  /** The whole region, for payload copies. */
  readonly bytes: Uint8Array;
  readonly #free: Int32Array;
  #top: number;

  constructor(pd: ProtectionDomain, slots: number, slotBytes: number, access: readonly Access[]) {
    this.slots = slots;
    this.slotBytes = slotBytes;
    this.mr = pd.allocateMemory(slots * slotBytes, access);
    const buf = this.mr.buffer;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#free = new Int32Array(slots);
    // Lowest index on top: a lightly used pool keeps touching the same pages.
    for (let i = 0; i < slots; i++) this.#free[i] = slots - 1 - i;
    this.#top = slots;
  }

  /** Free slots. */
  get available(): number {
    return this.#top;
  }

  /** A free slot's index, or -1 when none is free. */
  take(): number {
    return this.#top === 0 ? -1 : (this.#free[--this.#top] as number);
  }

  /** Returns a slot taken with {@link take}. */
  give(slot: number): void {
    this.#free[this.#top++] = slot;
  }

  /** Byte offset of `slot` in the region. */
  offset(slot: number): number {
    return slot * this.slotBytes;
  }
}
