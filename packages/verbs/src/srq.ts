/**
 * Shared receive queues: one pool of receive buffers serving many QPs; and
 * `ProtectionDomain.createSrq()`.
 * @module
 */
import { assertOpen, int, obj } from './check.js';
import { RecvDescriptors } from './descriptors.js';
import { native, type NativeSharedReceiveQueue } from './native.js';
import { ProtectionDomain } from './pd.js';
import { VerbsResource, addMethods, handle } from './resource.js';
import type { SrqOptions } from './types/qp.js';
import type { RecvWr } from './types/work-requests.js';

/**
 * A shared receive queue (`ibv_srq`). Pass it as `srq` to {@link ProtectionDomain.createQp}.
 * Closing it closes the QPs attached to it first.
 */
export class SharedReceiveQueue extends VerbsResource {
  readonly #native: NativeSharedReceiveQueue;
  /** The protection domain it lives in. */
  readonly pd: ProtectionDomain;
  /** Actual capacity (the device may round up what was asked). */
  readonly cap: Readonly<{
    /** Receive work requests it holds. */
    maxWr: number;
    /** Scatter/gather entries per work request. */
    maxSge: number;
  }>;
  #recv: RecvDescriptors;

  /** @internal Use {@link ProtectionDomain.createSrq}. */
  constructor(pd: ProtectionDomain, options: SrqOptions) {
    const m = 'ibv_create_srq';
    const o = obj<SrqOptions>(m, 'options', options);
    const raw = {
      maxWr: o.maxWr === undefined ? 256 : int(m, 'maxWr', o.maxWr, 1, 1 << 20),
      maxSge: o.maxSge === undefined ? 1 : int(m, 'maxSge', o.maxSge, 1, 64),
      srqLimit: o.srqLimit === undefined ? 0 : int(m, 'srqLimit', o.srqLimit, 0, 1 << 20),
    };
    const srq = new native.SharedReceiveQueue(handle(pd), raw) as NativeSharedReceiveQueue;
    super(srq);
    this.#native = srq;
    this.pd = pd;
    this.cap = Object.freeze({ ...this.#native.cap });
    this.#recv = new RecvDescriptors(this.cap.maxWr, this.cap.maxSge);
    this.#native.bindDescriptors(this.#recv.buffer);
  }

  /**
   * Posts one receive or a chain of them (`ibv_post_srq_recv`); any QP
   * attached may consume them.
   * @throws RangeError above the SRQ depth; {@link RdmaError} `EBADF` when closed.
   */
  postRecv(wrs: RecvWr | readonly RecvWr[]): void {
    const m = 'ibv_post_srq_recv';
    // The addon refuses a closed SRQ (EBADF) and closed regions.
    if (!Array.isArray(wrs)) {
      this.#recv.write(m, 0, wrs as RecvWr, this.pd);
      this.#native.postRecv(1);
      return;
    }
    const n = wrs.length;
    if (n === 0) return assertOpen(this.closed, m, 'SharedReceiveQueue');
    if (n > this.#recv.slots) throw new RangeError(`${m}: ${n} work requests exceed the SRQ depth ${this.#recv.slots}`);
    for (let i = 0; i < n; i++) this.#recv.write(m, i, wrs[i]!, this.pd);
    this.#native.postRecv(n);
  }

  /** Arms the limit event (see {@link SrqOptions.srqLimit}) or resizes the queue. */
  modify(attributes: { maxWr?: number; srqLimit?: number }): void {
    assertOpen(this.closed, 'ibv_modify_srq', 'SharedReceiveQueue');
    this.#native.modify(obj('ibv_modify_srq', 'attributes', attributes));
  }

  /** Current attributes from the device (`ibv_query_srq`). */
  query(): {
    /** Receive work requests it holds. */
    maxWr: number;
    /** Scatter/gather entries per work request. */
    maxSge: number;
    /** Armed limit; 0 once `SRQ_LIMIT_REACHED` fired (or when never armed). */
    srqLimit: number;
  } {
    assertOpen(this.closed, 'ibv_query_srq', 'SharedReceiveQueue');
    return this.#native.query();
  }
}

declare module './pd.js' {
  interface ProtectionDomain {
    /** Creates a shared receive queue for QPs of this PD. */
    createSrq(options?: SrqOptions): SharedReceiveQueue;
  }
}

addMethods(ProtectionDomain, {
  createSrq(options: SrqOptions = {}): SharedReceiveQueue {
    assertOpen(this.closed, 'ibv_create_srq', 'ProtectionDomain');
    return new SharedReceiveQueue(this, options);
  },
});
