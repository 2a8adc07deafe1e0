/**
 * Memory windows (type 1): grant a peer remote access to just part of a
 * registered region, and take it back, without re-registering; and
 * `ProtectionDomain.allocMw()`.
 * @module
 */
import { assertOpen, instance, int, obj, optBool, u64 } from './check.js';
import { accessMask } from './constants.js';
import { rdmaError } from './errors.js';
import { MemoryRegion } from './mr.js';
import { native, type NativeMemoryRegion, type NativeMemoryWindow, type NativeQueuePair } from './native.js';
import { ProtectionDomain } from './pd.js';
import { QueuePair } from './qp.js';
import { VerbsResource, addMethods, handle } from './resource.js';
import type { BindOptions } from './types/work-requests.js';

/** A memory window (`ibv_mw`, type 1). Closing it deallocates it. */
export class MemoryWindow extends VerbsResource {
  readonly #native: NativeMemoryWindow;
  /** The protection domain it belongs to. */
  readonly pd: ProtectionDomain;
  #base = 0n;
  #length = 0;
  #mr: MemoryRegion | undefined;

  /** @internal Use {@link ProtectionDomain.allocMw}. */
  constructor(pd: ProtectionDomain) {
    const mw = new native.MemoryWindow(handle(pd)) as NativeMemoryWindow;
    super(mw);
    this.#native = mw;
    this.pd = pd;
  }

  /** The current remote key (changes at every bind). */
  get rkey(): number {
    return this.#native.rkey;
  }

  /** What a peer needs to RDMA into the bound window. */
  remote(): {
    /** Start of the bound range, as the peer names it. */
    address: bigint;
    /** The window's current remote key. */
    rkey: number;
    /** Bound length in bytes. */
    length: number;
  } {
    return { address: this.#base, rkey: this.rkey, length: this.#length };
  }

  /**
   * Binds the window to `[offset, offset + length)` of `mr` by posting on
   * `qp`'s send queue (a `BIND_MW` completion follows). Returns the new rkey.
   */
  bind(qp: QueuePair, options: BindOptions): number {
    const m = 'ibv_bind_mw';
    assertOpen(this.closed, m, 'MemoryWindow');
    instance(m, 'qp', qp, QueuePair);
    const o = obj<BindOptions>(m, 'options', options);
    const mr = instance(m, 'mr', o.mr, MemoryRegion);
    const offset = o.offset === undefined ? 0 : int(m, 'offset', o.offset, 0, mr.length);
    const length = o.length === undefined ? mr.length - offset : int(m, 'length', o.length, 0, mr.length - offset);
    const rkey = this.#native.bind(handle<NativeQueuePair>(qp), handle<NativeMemoryRegion>(mr), offset, length, accessMask(m, o.access), u64(m, 'id', o.id ?? 0n), optBool(m, 'signaled', o.signaled, true));
    this.#base = mr.address + BigInt(offset);
    this.#length = length;
    this.#mr = mr;
    return rkey;
  }

  /**
   * Invalidates the window by rebinding it with length 0 (posted on `qp`):
   * the old rkey stops working.
   */
  invalidate(qp: QueuePair, options: { id?: bigint; signaled?: boolean } = {}): void {
    const m = 'ibv_bind_mw';
    assertOpen(this.closed, m, 'MemoryWindow');
    instance(m, 'qp', qp, QueuePair);
    obj(m, 'options', options);
    if (!this.#mr || this.#mr.closed) throw rdmaError(m, 'EINVAL', 'the window is not bound');
    this.#native.bind(handle<NativeQueuePair>(qp), handle<NativeMemoryRegion>(this.#mr), 0, 0, 0, u64(m, 'id', options.id ?? 0n), optBool(m, 'signaled', options.signaled, true));
    this.#length = 0;
  }
}

declare module './pd.js' {
  interface ProtectionDomain {
    /**
     * Allocates a type-1 memory window; bind it with {@link MemoryWindow.bind}.
     * Throws EOPNOTSUPP on devices without memory windows.
     */
    allocMw(): MemoryWindow;
  }
}

addMethods(ProtectionDomain, {
  allocMw(): MemoryWindow {
    assertOpen(this.closed, 'ibv_alloc_mw', 'ProtectionDomain');
    return new MemoryWindow(this);
  },
});
