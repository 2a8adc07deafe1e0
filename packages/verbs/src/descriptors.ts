/**
 * The encoding of work requests (types/work-requests.ts) into the descriptor buffers the addon
 * reads. The slot and SGE layouts are declared once, in
 * native/src/layouts.h, and read here by name from the addon's SEND_SLOT,
 * RECV_SLOT and SGE constants. Encoding writes numbers and existing bigints
 * into typed arrays: nothing is allocated per work request.
 * @module
 */
import { wrInt, wrU64 } from './check.js';
import { RECV_SLOT, SEND_FLAGS, SEND_SLOT, SGE, WR_OPCODE, type SendOpcode } from './constants.js';
import { AddressHandle, addressHandleId } from './ah.js';
import { MemoryRegion } from './mr.js';
import type { ProtectionDomain } from './pd.js';
import type { RecvWr, SendWr, Sge } from './types/work-requests.js';

const NEEDS_REMOTE = new Set<SendOpcode>(['RDMA_WRITE', 'RDMA_WRITE_WITH_IMM', 'RDMA_READ', 'ATOMIC_CMP_AND_SWP', 'ATOMIC_FETCH_AND_ADD']);
const HAS_IMM = new Set<SendOpcode>(['SEND_WITH_IMM', 'RDMA_WRITE_WITH_IMM']);
const ATOMIC = new Set<SendOpcode>(['ATOMIC_CMP_AND_SWP', 'ATOMIC_FETCH_AND_ADD']);

// Each field as an index into the typed-array view of its width, relative to
// the record's first element: byte offset >> 3 for u64/f64, >> 2 for u32.
// Computed once here so encoding does no lookups.
const SEND_WR_ID = SEND_SLOT.WR_ID >> 3;
const SEND_REMOTE_ADDR = SEND_SLOT.REMOTE_ADDR >> 3;
const SEND_COMPARE_ADD = SEND_SLOT.COMPARE_ADD >> 3;
const SEND_SWAP = SEND_SLOT.SWAP >> 3;
const SEND_REMOTE_OFFSET = SEND_SLOT.REMOTE_OFFSET >> 3;
const SEND_OPCODE = SEND_SLOT.OPCODE >> 2;
const SEND_FLAGS_AT = SEND_SLOT.FLAGS >> 2;
const SEND_IMM = SEND_SLOT.IMM >> 2;
const SEND_RKEY = SEND_SLOT.RKEY >> 2;
const SEND_NUM_SGE = SEND_SLOT.NUM_SGE >> 2;
const SEND_AH_ID = SEND_SLOT.AH_ID >> 2;
const SEND_REMOTE_QPN = SEND_SLOT.REMOTE_QPN >> 2;
const SEND_REMOTE_QKEY = SEND_SLOT.REMOTE_QKEY >> 2;
const RECV_WR_ID = RECV_SLOT.WR_ID >> 3;
const RECV_NUM_SGE = RECV_SLOT.NUM_SGE >> 2;
const SGE_BASE = SGE.BASE >> 3;
const SGE_OFFSET = SGE.OFFSET >> 3;
const SGE_LENGTH = SGE.LENGTH >> 2;
const SGE_LKEY = SGE.LKEY >> 2;

/** @internal One queue's descriptor buffer: `slots` slots of `header + maxSge` SGE records. */
export class Descriptors {
  readonly buffer: ArrayBuffer;
  readonly slotBytes: number;
  readonly u64: BigUint64Array;
  readonly f64: Float64Array;
  readonly u32: Uint32Array;

  constructor(
    readonly slots: number,
    readonly maxSge: number,
    readonly headerBytes: number,
  ) {
    this.slotBytes = headerBytes + SGE.BYTES * maxSge;
    this.buffer = new ArrayBuffer(this.slotBytes * slots);
    this.u64 = new BigUint64Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
  }

  /** Byte offset of SGE record `sge` of slot `slot`. */
  sgeAt(slot: number, sge: number): number {
    return slot * this.slotBytes + this.headerBytes + sge * SGE.BYTES;
  }

  /** Length of SGE `sge` of slot `slot`. */
  sgeLength(slot: number, sge: number): number {
    return this.u32[(this.sgeAt(slot, sge) >> 2) + SGE_LENGTH]!;
  }

  /**
   * Writes the SGE list of slot `slot`; returns the SGE count. Whether each
   * region is still open is checked by the addon when it posts (one lookup
   * it makes anyway), not here: `mr.closed` is an N-API call.
   */
  writeSges(method: string, index: number, slot: number, sg: readonly Sge[] | undefined, pd: ProtectionDomain): number {
    if (sg === undefined) return 0;
    if (!Array.isArray(sg)) throw new TypeError(`${method}: wr[${index}].sg must be an array`);
    if (sg.length > this.maxSge) {
      throw new RangeError(`${method}: wr[${index}] has ${sg.length} SGEs; this QP allows ${this.maxSge} (cap.max*Sge)`);
    }
    for (let s = 0; s < sg.length; s++) {
      const e = sg[s];
      if (typeof e !== 'object' || e === null) throw new TypeError(`${method}: wr[${index}].sg[${s}] must be an object`);
      const mr = e.mr;
      if (!(mr instanceof MemoryRegion)) throw new TypeError(`${method}: wr[${index}].sg[${s}].mr must be a MemoryRegion`);
      if (mr.pd !== pd) throw new TypeError(`${method}: wr[${index}].sg[${s}].mr is registered in another protection domain`);
      const offset = wrInt(method, index, 'offset', e.offset ?? 0, 0, mr.length, s);
      // At most what the region holds from `offset` on.
      const length = wrInt(method, index, 'length', e.length ?? mr.length - offset, 0, Math.min(mr.length - offset, 0x7fffffff), s);
      const at = this.sgeAt(slot, s);
      this.u64[(at >> 3) + SGE_BASE] = mr.address;
      this.f64[(at >> 3) + SGE_OFFSET] = offset;
      this.u32[(at >> 2) + SGE_LENGTH] = length;
      this.u32[(at >> 2) + SGE_LKEY] = mr.lkey;
    }
    return sg.length;
  }
}

/** @internal Encodes send work requests. */
export class SendDescriptors extends Descriptors {
  constructor(slots: number, maxSge: number) {
    super(slots, maxSge, SEND_SLOT.BYTES);
  }

  write(method: string, index: number, wr: SendWr, pd: ProtectionDomain, maxInline: number, ud = false): void {
    if (typeof wr !== 'object' || wr === null) throw new TypeError(`${method}: wr[${index}] must be an object`);
    const opcode = wr.opcode ?? 'SEND';
    const op = WR_OPCODE[opcode];
    if (op === undefined) throw new RangeError(`${method}: wr[${index}].opcode '${String(opcode)}' is not a send opcode`);
    const slot = index;
    const w = (slot * this.slotBytes) >> 3; // u64/f64 index of the slot
    const h = (slot * this.slotBytes) >> 2; // u32 index of the slot

    this.u64[w + SEND_WR_ID] = wrU64(method, index, 'id', wr.id ?? 0n);

    let flags = wr.signaled === false ? 0 : SEND_FLAGS.SIGNALED;
    if (wr.fence) flags |= SEND_FLAGS.FENCE;
    if (wr.solicited) flags |= SEND_FLAGS.SOLICITED;
    if (wr.inline) flags |= SEND_FLAGS.INLINE;

    if (HAS_IMM.has(opcode)) {
      this.u32[h + SEND_IMM] = wrInt(method, index, 'imm', wr.imm, 0, 0xffffffff);
    } else if (wr.imm !== undefined) {
      throw new TypeError(`${method}: wr[${index}].imm is only valid for SEND_WITH_IMM and RDMA_WRITE_WITH_IMM`);
    }

    if (ud) {
      const t = wr.ud;
      if (typeof t !== 'object' || t === null) throw new TypeError(`${method}: wr[${index}].ud { ah, remoteQpn, remoteQkey } is required on a UD QP`);
      if (!(t.ah instanceof AddressHandle)) throw new TypeError(`${method}: wr[${index}].ud.ah must be an AddressHandle`);
      if (t.ah.pd !== pd) throw new TypeError(`${method}: wr[${index}].ud.ah belongs to another protection domain`);
      if (t.ah.closed) throw new TypeError(`${method}: wr[${index}].ud.ah is closed`);
      if (opcode !== 'SEND' && opcode !== 'SEND_WITH_IMM') throw new RangeError(`${method}: wr[${index}]: UD QPs only SEND`);
      this.u32[h + SEND_REMOTE_QPN] = wrInt(method, index, 'ud.remoteQpn', t.remoteQpn, 1, 0xffffff);
      this.u32[h + SEND_REMOTE_QKEY] = wrInt(method, index, 'ud.remoteQkey', t.remoteQkey, 0, 0xffffffff);
      this.u32[h + SEND_AH_ID] = addressHandleId(t.ah);
      this.u64[w + SEND_REMOTE_ADDR] = 0n;
      this.u32[h + SEND_RKEY] = 0;
    } else if (NEEDS_REMOTE.has(opcode)) {
      const r = wr.remote;
      if (typeof r !== 'object' || r === null) throw new TypeError(`${method}: wr[${index}].remote { address, rkey } is required for ${opcode}`);
      this.u64[w + SEND_REMOTE_ADDR] = wrU64(method, index, 'remote.address', r.address);
      this.f64[w + SEND_REMOTE_OFFSET] = wrInt(method, index, 'remote.offset', r.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
      this.u32[h + SEND_RKEY] = wrInt(method, index, 'remote.rkey', r.rkey, 0, 0xffffffff);
    } else {
      this.u64[w + SEND_REMOTE_ADDR] = 0n;
      this.f64[w + SEND_REMOTE_OFFSET] = 0;
      this.u32[h + SEND_RKEY] = 0;
    }

    if (ATOMIC.has(opcode)) {
      // The target's 8-byte alignment is checked by the addon (BigInt
      // arithmetic here would allocate per request). Storing into the
      // BigUint64Array wraps modulo 2^64, so -1n adds 0xffff...ffff.
      const ca = wr.compareAdd ?? 0n;
      const swap = wr.swap ?? 0n;
      if (typeof ca !== 'bigint' || typeof swap !== 'bigint') throw new TypeError(`${method}: wr[${index}].compareAdd/swap must be bigints`);
      this.u64[w + SEND_COMPARE_ADD] = ca;
      this.u64[w + SEND_SWAP] = swap;
    }

    this.u32[h + SEND_OPCODE] = op;
    this.u32[h + SEND_FLAGS_AT] = flags;
    const n = this.writeSges(method, index, slot, wr.sg, pd);
    this.u32[h + SEND_NUM_SGE] = n;
    if (ATOMIC.has(opcode) && (n !== 1 || this.sgeLength(slot, 0) !== 8)) {
      throw new RangeError(`${method}: wr[${index}]: ${opcode} needs exactly one 8-byte SGE for the old value`);
    }
    if (wr.inline) {
      let bytes = 0;
      for (let s = 0; s < n; s++) bytes += this.sgeLength(slot, s);
      if (bytes > maxInline) throw new RangeError(`${method}: wr[${index}]: ${bytes} inline bytes exceed this QP's maxInlineData ${maxInline}`);
    }
  }
}

/**
 * @internal Slot setters for prepared sets: each changes one field of an
 * encoded request in place (the caller has checked the value).
 */
export class SlotEditor {
  constructor(readonly d: SendDescriptors) {}
  #w(slot: number): number {
    return (slot * this.d.slotBytes) >> 3;
  }
  #h(slot: number): number {
    return (slot * this.d.slotBytes) >> 2;
  }
  flags(slot: number): number {
    return this.d.u32[this.#h(slot) + SEND_FLAGS_AT]!;
  }
  setFlag(slot: number, flag: number, on: boolean): void {
    const i = this.#h(slot) + SEND_FLAGS_AT;
    this.d.u32[i] = on ? this.d.u32[i]! | flag : this.d.u32[i]! & ~flag;
  }
  opcode(slot: number): number {
    return this.d.u32[this.#h(slot) + SEND_OPCODE]!;
  }
  sgeCount(slot: number): number {
    return this.d.u32[this.#h(slot) + SEND_NUM_SGE]!;
  }
  setId(slot: number, id: bigint): void {
    this.d.u64[this.#w(slot) + SEND_WR_ID] = id;
  }
  setImm(slot: number, imm: number): void {
    this.d.u32[this.#h(slot) + SEND_IMM] = imm;
  }
  setRemoteOffset(slot: number, offset: number): void {
    this.d.f64[this.#w(slot) + SEND_REMOTE_OFFSET] = offset;
  }
  sgeOffset(slot: number, sge: number): number {
    return this.d.f64[(this.d.sgeAt(slot, sge) >> 3) + SGE_OFFSET]!;
  }
  sgeLength(slot: number, sge: number): number {
    return this.d.sgeLength(slot, sge);
  }
  setSge(slot: number, sge: number, offset: number, length: number): void {
    const at = this.d.sgeAt(slot, sge);
    this.d.f64[(at >> 3) + SGE_OFFSET] = offset;
    this.d.u32[(at >> 2) + SGE_LENGTH] = length;
  }
}

/** @internal Encodes receive work requests. */
export class RecvDescriptors extends Descriptors {
  constructor(slots: number, maxSge: number) {
    super(slots, maxSge, RECV_SLOT.BYTES);
  }

  write(method: string, index: number, wr: RecvWr, pd: ProtectionDomain): void {
    if (typeof wr !== 'object' || wr === null) throw new TypeError(`${method}: wr[${index}] must be an object`);
    const at = index * this.slotBytes;
    this.u64[(at >> 3) + RECV_WR_ID] = wrU64(method, index, 'id', wr.id ?? 0n);
    this.u32[(at >> 2) + RECV_NUM_SGE] = this.writeSges(method, index, index, wr.sg, pd);
  }
}
