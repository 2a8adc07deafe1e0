/**
 * Memory windows (type 1): grant a peer remote access to just part of a
 * registered region, and take it back, without re-registering.
 * @module
 */
import { assertOpen, instance, int, obj, optBool, u64 } from './check.js';
import { accessMask, type Access } from './constants.js';
import { rdmaError } from './errors.js';
import { MemoryRegion } from './mr.js';
import { native, type NativeMemoryWindow } from './native.js';
import type { ProtectionDomain } from './pd.js';
import { QueuePair } from './qp.js';

/** Options of {@link MemoryWindow.bind}. */
export interface BindOptions {
  /** The region to open a window onto; it needs `MW_BIND` access. */
  mr: MemoryRegion;
  /** Start of the window in the region. Default 0. */
  offset?: number;
  /** Window length. Default: the rest of the region. */
  length?: number;
  /** Rights the window grants, e.g. `['REMOTE_WRITE']`. */
  access: readonly Access[];
  /** Id of the BIND_MW completion. Default 0n. */
  id?: bigint;
  /** Default true. */
  signaled?: boolean;
}

/** A memory window (`ibv_mw`, type 1). */
export class MemoryWindow implements Disposable {
  /** @internal */ readonly _native: NativeMemoryWindow;
  /** The protection domain it belongs to. */
  readonly pd: ProtectionDomain;
  #base = 0n;
  #length = 0;
  #mr: MemoryRegion | undefined;

  /** @internal Use {@link ProtectionDomain.allocMw}. */
  constructor(pd: ProtectionDomain) {
    this.pd = pd;
    this._native = new native.MemoryWindow(pd._native);
  }

  /** True once closed. */
  get closed(): boolean {
    return this._native.closed;
  }

  /** The current remote key (changes at every bind). */
  get rkey(): number {
    return this._native.rkey;
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
    const rkey = this._native.bind(qp._native, mr._native, offset, length, accessMask(m, o.access), u64(m, 'id', o.id ?? 0n), optBool(m, 'signaled', o.signaled, true));
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
    this._native.bind(qp._native, this.#mr._native, 0, 0, 0, u64(m, 'id', options.id ?? 0n), optBool(m, 'signaled', options.signaled, true));
    this.#length = 0;
  }

  /** Deallocates the window. Harmless when already closed. */
  close(): void {
    this._native.close();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
