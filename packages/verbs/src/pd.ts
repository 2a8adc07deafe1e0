/**
 * Protection domains: memory regions and queue pairs may only be used
 * together when they share one.
 * @module
 */
import { AddressHandle, ahFromEndpoint } from './ah.js';
import { assertOpen, instance, int, obj, optBool } from './check.js';
import { ADVISE_MR, ADVISE_MR_FLAGS, accessMask, type Access, type MemoryAdvice } from './constants.js';
import type { WorkCompletion } from './cq.js';
import type { Sge } from './descriptors.js';
import type { Context } from './device.js';
import { MemoryRegion, type RegisterOptions, checkRegistrable } from './mr.js';
import { MemoryWindow } from './mw.js';
import { native, type NativeProtectionDomain } from './native.js';
import { QueuePair, checkEndpoint, type AhAttributes, type Endpoint, type QpOptions } from './qp.js';
import { SharedReceiveQueue, type SrqOptions } from './srq.js';

/** A protection domain (`ibv_pd`). */
export class ProtectionDomain implements Disposable {
  /** @internal */ readonly _native: NativeProtectionDomain;
  /** The device this PD belongs to. */
  readonly context: Context;

  /** @internal Use {@link Context.allocPd}. */
  constructor(context: Context) {
    this.context = context;
    this._native = new native.ProtectionDomain(context._native);
  }

  /** True once closed (directly or by closing the context). */
  get closed(): boolean {
    return this._native.closed;
  }

  /**
   * Registers memory with the NIC. The memory stays pinned and alive until
   * the region is closed, even if JS drops or detaches the buffer.
   *
   * Refuses slices of Node's shared Buffer pool (other Buffers share that
   * memory and the NIC could overwrite them) unless `allowPooled` is set,
   * and resizable or detached buffers always.
   *
   * @param buffer Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer.
   * @param access Rights; `REMOTE_WRITE` and `REMOTE_ATOMIC` need `LOCAL_WRITE` too.
   * @throws TypeError for a pooled, resizable or non-buffer argument; RangeError
   * for an empty one; {@link RdmaError} from `ibv_reg_mr` (`EINVAL` for bad
   * rights, `ENOMEM`/`EFAULT` when the memory cannot be pinned: check `ulimit -l`).
   */
  registerMemory(
    buffer: ArrayBufferView | ArrayBuffer | SharedArrayBuffer,
    access: readonly Access[] = ['LOCAL_WRITE'],
    options: RegisterOptions = {},
  ): MemoryRegion {
    const m = 'ibv_reg_mr';
    assertOpen(this.closed, m, 'ProtectionDomain');
    const mask = accessMask(m, access);
    checkRegistrable(m, buffer, options);
    return new MemoryRegion(this, buffer, mask);
  }

  /**
   * Allocates `size` zeroed bytes outside Node's Buffer pool and registers them.
   * The region's {@link MemoryRegion.buffer} is the memory.
   */
  allocateMemory(size: number, access: readonly Access[] = ['LOCAL_WRITE']): MemoryRegion {
    const m = 'ibv_reg_mr';
    assertOpen(this.closed, m, 'ProtectionDomain');
    if (typeof size !== 'number') throw new TypeError(`${m}: size must be a number`);
    if (!Number.isInteger(size) || size < 1 || size > 2 ** 32) throw new RangeError(`${m}: size must be an integer in [1, 2^32]`);
    const mask = accessMask(m, access);
    return new MemoryRegion(this, Buffer.alloc(size), mask);
  }

  /**
   * Creates a queue pair in this PD, in state RESET. It becomes usable for
   * sends through {@link QueuePair.connect} (RC, UC) or {@link QueuePair.activate} (UD).
   * @throws TypeError / RangeError for bad options (e.g. no `sendCq`, an
   * unknown `type`); {@link RdmaError} from `ibv_create_qp` (`EINVAL` when `cap`
   * exceeds the device's limits, `ENOMEM`).
   */
  createQp(options: QpOptions): QueuePair<'prepared'> {
    assertOpen(this.closed, 'ibv_create_qp', 'ProtectionDomain');
    return new QueuePair(this, options);
  }

  /**
   * Allocates a type-1 memory window; bind it with {@link MemoryWindow.bind}.
   * Throws EOPNOTSUPP on devices without memory windows.
   */
  allocMw(): MemoryWindow {
    assertOpen(this.closed, 'ibv_alloc_mw', 'ProtectionDomain');
    return new MemoryWindow(this);
  }

  /** Creates a shared receive queue for QPs of this PD. */
  createSrq(options: SrqOptions = {}): SharedReceiveQueue {
    assertOpen(this.closed, 'ibv_create_srq', 'ProtectionDomain');
    return new SharedReceiveQueue(this, options);
  }

  /**
   * Creates an address handle for UD sends: from raw attributes, or from a
   * peer's {@link Endpoint} (GRH from its GID on RoCE, our default GID as source).
   */
  createAh(target: AhAttributes | Endpoint): AddressHandle {
    const m = 'ibv_create_ah';
    assertOpen(this.closed, m, 'ProtectionDomain');
    const t = obj<AhAttributes | Endpoint>(m, 'target', target);
    const attrs = 'qpn' in t ? ahFromEndpoint(this, checkEndpoint(m, t)) : (t as AhAttributes);
    return new AddressHandle(this, attrs);
  }

  /**
   * Creates an address handle back to the sender of a UD receive
   * (`ibv_create_ah_from_wc`): reply to whoever sent `wc`, at QP `wc.srcQp`.
   *
   * @param wc The receive's completion.
   * @param grh The first 40 bytes of the receive buffer (the GRH; on RoCE v2
   *   over IPv4 it holds the IPv4 header). Needed when the completion has the
   *   GRH flag, which is always the case on RoCE.
   * @param port Local port the receive arrived on. Default 1.
   */
  createAhFromWc(wc: WorkCompletion, grh?: Uint8Array, port = 1): AddressHandle {
    const m = 'ibv_create_ah_from_wc';
    assertOpen(this.closed, m, 'ProtectionDomain');
    const w = obj<WorkCompletion>(m, 'wc', wc);
    if (grh !== undefined && !(grh instanceof Uint8Array)) throw new TypeError(`${m}: grh must be a Buffer or Uint8Array`);
    int(m, 'port', port, 1, 255);
    const attrs = this.context._native.initAhAttrFromWc(port, w as unknown as Record<string, unknown>, grh);
    return new AddressHandle(this, attrs as AhAttributes);
  }

  /**
   * Advises the device about ranges of on-demand-paging regions
   * (`ibv_advise_mr`), e.g. to fault them in before the first work requests
   * use them. Only regions registered with `ON_DEMAND` on a provider with
   * ODP support benefit.
   *
   * @param advice `'PREFETCH'` (the range will be read), `'PREFETCH_WRITE'`
   *   (it will be written) or `'PREFETCH_NO_FAULT'` (map only pages already present).
   * @param sg The ranges: regions of this PD, `length` bytes (default: the
   *   rest of the region) at `offset` (default 0). At least one.
   * @param options `flush`: return only once the advice is carried out
   *   (`IBV_ADVISE_MR_FLAG_FLUSH`) instead of at once.
   * @throws TypeError / RangeError for bad arguments (unknown advice, an
   *   empty list, a region of another PD or closed, a range outside its
   *   region), before the verb runs; {@link RdmaError} from `ibv_advise_mr`:
   *   `EOPNOTSUPP` on providers without ODP (such as rxe), `EINVAL` when a
   *   region is not an ODP region or the advice or flags are unsupported,
   *   `EFAULT` when the range cannot be faulted in.
   */
  adviseMemory(advice: MemoryAdvice, sg: readonly Sge[], options: { flush?: boolean } = {}): void {
    const m = 'ibv_advise_mr';
    assertOpen(this.closed, m, 'ProtectionDomain');
    const a = ADVISE_MR[advice] as number | undefined;
    if (a === undefined) throw new RangeError(`${m}: advice must be one of ${Object.keys(ADVISE_MR).join(', ')}; got '${String(advice)}'`);
    if (!Array.isArray(sg) || sg.length === 0) throw new TypeError(`${m}: sg must be a non-empty array of { mr, offset?, length? }`);
    const flags = optBool(m, 'options.flush', obj<{ flush?: boolean }>(m, 'options', options).flush, false) ? ADVISE_MR_FLAGS.FLUSH : 0;
    const ranges = sg.map((e, i) => {
      const mr = instance(m, `sg[${i}].mr`, obj<Sge>(m, `sg[${i}]`, e).mr, MemoryRegion);
      if (mr.pd !== this) throw new TypeError(`${m}: sg[${i}].mr is registered in another protection domain`);
      if (mr.closed) throw new TypeError(`${m}: sg[${i}].mr is closed (deregistered)`);
      const offset = int(m, `sg[${i}].offset`, e.offset ?? 0, 0, mr.length - 1);
      const length = int(m, `sg[${i}].length`, e.length ?? mr.length - offset, 1, Math.min(mr.length - offset, 0xffffffff));
      return { mr: mr._native, offset, length };
    });
    this._native.adviseMr(a, flags, ranges);
  }

  /** Closes the PD and, first, its queue pairs and memory regions. Harmless when already closed. */
  close(): void {
    this._native.close();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
