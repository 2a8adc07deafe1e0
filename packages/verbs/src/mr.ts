/**
 * Memory regions: memory the NIC may read and write, and the
 * `registerMemory()` / `allocateMemory()` methods of a protection domain.
 * @module
 */
import { assertOpen, instance, int, obj, optBool } from './check.js';
import { ADVISE_MR, ADVISE_MR_FLAGS, accessMask, accessNames, type Access, type MemoryAdvice } from './constants.js';
import { native, type NativeMemoryRegion, type NativeProtectionDomain } from './native.js';
import { ProtectionDomain } from './pd.js';
import { VerbsResource, addMethods, handle } from './resource.js';
import type { RegisterOptions, RemoteBuffer } from './types/memory.js';

/** @internal Rejects memory the NIC must not be given, with a clear reason. */
export function checkRegistrable(method: string, buffer: unknown, options: RegisterOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${method}: options must be an object`);
  let ab: ArrayBufferLike;
  let length: number;
  if (ArrayBuffer.isView(buffer)) {
    ab = buffer.buffer;
    length = buffer.byteLength;
  } else if (buffer instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer)) {
    ab = buffer;
    length = buffer.byteLength;
  } else {
    throw new TypeError(`${method}: buffer must be a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer`);
  }
  if ((ab as ArrayBuffer & { resizable?: boolean }).resizable || (ab as SharedArrayBuffer & { growable?: boolean }).growable) {
    throw new TypeError(`${method}: buffer is resizable; register a fixed-length buffer`);
  }
  // A detached buffer also reads as empty; the addon tells the two apart.
  if (length === 0 && ab.byteLength !== 0) throw new RangeError(`${method}: buffer must not be empty`);
  if (
    Buffer.isBuffer(buffer) &&
    !options.allowPooled &&
    ab.byteLength === Buffer.poolSize &&
    buffer.byteLength < ab.byteLength
  ) {
    throw new TypeError(
      `${method}: buffer is a slice of Node's shared Buffer pool, whose memory other Buffers share; ` +
        'use Buffer.allocUnsafeSlow(), pd.allocateMemory(), or pass { allowPooled: true }',
    );
  }
}

/** A registered memory region (`ibv_mr`). */
export class MemoryRegion extends VerbsResource {
  readonly #native: NativeMemoryRegion;
  /** The protection domain it is registered in. */
  readonly pd: ProtectionDomain;
  /** The registered bytes (a view over the memory given at registration). */
  readonly buffer: Buffer;
  /** Start address as the NIC sees it. */
  readonly address: bigint;
  /** Length in bytes. */
  readonly length: number;
  /** Local key: names this region in local scatter/gather entries. */
  readonly lkey: number;
  /** Remote key: lets a peer RDMA into this region (with the matching access rights). */
  readonly rkey: number;
  /** Access rights it was registered with. */
  readonly access: readonly Access[];

  /** @internal Use {@link ProtectionDomain.registerMemory}. */
  constructor(pd: ProtectionDomain, memory: ArrayBufferView | ArrayBufferLike, accessMask: number) {
    const handleMr = new native.MemoryRegion(handle(pd), memory, accessMask) as NativeMemoryRegion;
    super(handleMr);
    this.#native = handleMr;
    this.pd = pd;
    this.buffer = ArrayBuffer.isView(memory)
      ? Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength)
      : Buffer.from(memory as ArrayBuffer);
    this.address = this.#native.address;
    this.length = this.#native.length;
    this.lkey = this.#native.lkey;
    this.rkey = this.#native.rkey;
    this.access = Object.freeze(accessNames(accessMask));
  }

  /**
   * Posted work requests (and SRQs holding posted receives) that still use
   * this region. While non-zero, {@link close} throws EBUSY.
   */
  get inflight(): number {
    return this.#native.inflight;
  }

  /**
   * What a peer needs to RDMA into `[offset, offset + length)` of this region
   * (default: the whole region). Send it over any channel (rdma_cm private
   * data, a SEND, TCP); the peer may use it only within the region's access rights.
   * @throws RangeError when the range does not fit in the region.
   */
  remote(offset = 0, length?: number): RemoteBuffer {
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > this.length) {
      throw new RangeError(`MemoryRegion.remote: offset must be an integer in [0, ${this.length}]`);
    }
    length ??= this.length - offset;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || offset + length > this.length) {
      throw new RangeError(`MemoryRegion.remote: length must fit in the region`);
    }
    return { address: this.address + BigInt(offset), rkey: this.rkey, length };
  }

  /**
   * Deregisters the region. After this the NIC can no longer touch the
   * memory, and JS may free it. Harmless when already closed. Refused with
   * EBUSY while work requests using it are in flight ({@link inflight});
   * closing their QP (or the PD) releases them.
   */
  override close(): void {
    super.close();
  }

  /** Alias of {@link close}. */
  deregister(): void {
    this.close();
  }
}

declare module './pd.js' {
  interface ProtectionDomain {
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
    registerMemory(buffer: ArrayBufferView | ArrayBuffer | SharedArrayBuffer, access?: readonly Access[], options?: RegisterOptions): MemoryRegion;
    /**
     * Allocates `size` zeroed bytes outside Node's Buffer pool and registers them.
     * The region's {@link MemoryRegion.buffer} is the memory.
     */
    allocateMemory(size: number, access?: readonly Access[]): MemoryRegion;
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
    adviseMemory(advice: MemoryAdvice, sg: readonly { mr: MemoryRegion; offset?: number; length?: number }[], options?: { flush?: boolean }): void;
  }
}

addMethods(ProtectionDomain, {
  registerMemory(buffer: ArrayBufferView | ArrayBuffer | SharedArrayBuffer, access: readonly Access[] = ['LOCAL_WRITE'], options: RegisterOptions = {}): MemoryRegion {
    const m = 'ibv_reg_mr';
    assertOpen(this.closed, m, 'ProtectionDomain');
    const mask = accessMask(m, access);
    checkRegistrable(m, buffer, options);
    return new MemoryRegion(this, buffer, mask);
  },

  allocateMemory(size: number, access: readonly Access[] = ['LOCAL_WRITE']): MemoryRegion {
    const m = 'ibv_reg_mr';
    assertOpen(this.closed, m, 'ProtectionDomain');
    if (typeof size !== 'number') throw new TypeError(`${m}: size must be a number`);
    if (!Number.isInteger(size) || size < 1 || size > 2 ** 32) throw new RangeError(`${m}: size must be an integer in [1, 2^32]`);
    const mask = accessMask(m, access);
    return new MemoryRegion(this, Buffer.alloc(size), mask);
  },

  adviseMemory(advice: MemoryAdvice, sg: readonly { mr: MemoryRegion; offset?: number; length?: number }[], options: { flush?: boolean } = {}): void {
    const m = 'ibv_advise_mr';
    assertOpen(this.closed, m, 'ProtectionDomain');
    const a = ADVISE_MR[advice] as number | undefined;
    if (a === undefined) throw new RangeError(`${m}: advice must be one of ${Object.keys(ADVISE_MR).join(', ')}; got '${String(advice)}'`);
    if (!Array.isArray(sg) || sg.length === 0) throw new TypeError(`${m}: sg must be a non-empty array of { mr, offset?, length? }`);
    const flags = optBool(m, 'options.flush', obj<{ flush?: boolean }>(m, 'options', options).flush, false) ? ADVISE_MR_FLAGS.FLUSH : 0;
    const ranges = sg.map((e, i) => {
      const mr = instance(m, `sg[${i}].mr`, obj<{ mr: MemoryRegion }>(m, `sg[${i}]`, e).mr, MemoryRegion);
      if (mr.pd !== this) throw new TypeError(`${m}: sg[${i}].mr is registered in another protection domain`);
      if (mr.closed) throw new TypeError(`${m}: sg[${i}].mr is closed (deregistered)`);
      const offset = int(m, `sg[${i}].offset`, e.offset ?? 0, 0, mr.length - 1);
      const length = int(m, `sg[${i}].length`, e.length ?? mr.length - offset, 1, Math.min(mr.length - offset, 0xffffffff));
      return { mr: handle<NativeMemoryRegion>(mr), offset, length };
    });
    handle<NativeProtectionDomain>(this).adviseMr(a, flags, ranges);
  },
});
