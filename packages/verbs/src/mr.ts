/**
 * Memory regions: memory the NIC may read and write.
 * @module
 */
import { accessNames, type Access } from './constants.js';
import { native, type NativeMemoryRegion } from './native.js';
import type { ProtectionDomain } from './pd.js';

/** Options of {@link ProtectionDomain.registerMemory}. */
export interface RegisterOptions {
  /**
   * Allow registering a small Buffer that lives in Node's shared pool. Other
   * Buffers share that memory: only do this for local, read-only access.
   */
  allowPooled?: boolean;
}

/** Where a peer may RDMA into: address and rkey, as sent to the peer. */
export interface RemoteBuffer {
  /** Start address as the peer's NIC must name it (a virtual address, not an offset). */
  address: bigint;
  /** Remote key the peer puts in its RDMA work requests. */
  rkey: number;
  /** Length available from `address`. */
  length: number;
}

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
export class MemoryRegion implements Disposable {
  /** @internal */ readonly _native: NativeMemoryRegion;
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
    this.pd = pd;
    this._native = new native.MemoryRegion(pd._native, memory, accessMask);
    this.buffer = ArrayBuffer.isView(memory)
      ? Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength)
      : Buffer.from(memory as ArrayBuffer);
    this.address = this._native.address;
    this.length = this._native.length;
    this.lkey = this._native.lkey;
    this.rkey = this._native.rkey;
    this.access = Object.freeze(accessNames(accessMask));
  }

  /** True once deregistered. */
  get closed(): boolean {
    return this._native.closed;
  }

  /**
   * Posted work requests (and SRQs holding posted receives) that still use
   * this region. While non-zero, {@link close} throws EBUSY.
   */
  get inflight(): number {
    return this._native.inflight;
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
  close(): void {
    this._native.close();
  }

  /** Alias of {@link close}. */
  deregister(): void {
    this.close();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
