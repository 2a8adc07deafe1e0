/**
 * Prepared work requests: a set of send work requests validated and encoded
 * once, then posted again and again with one native call each.
 *
 * A hot loop that posts the same shape of request (a ping-pong, a bandwidth
 * loop, a protocol's data and control messages) pays for checking and
 * encoding every field of every request on each `postSend`. A
 * {@link PreparedSends} pays once, in {@link QueuePair.prepareSend}; between
 * posts its setters change single fields in place (checked, allocation-free).
 * The addon still checks every request at each post — that the QP is open
 * and ready and that every SGE lies in a live region of the QP's PD — so a
 * prepared set is exactly as safe as `postSend`.
 *
 * ```ts
 * const ping = qp.prepareSend([{ opcode: 'SEND', sg: [{ mr, length: 64 }] }]);
 * for (let i = 0; i < n; i++) {
 *   ping.setSignaled(0, i % 16 === 15);
 *   ping.post();
 * }
 * ping.close();
 * ```
 * `QueuePair.prepareSend()` is added here (see resource.ts).
 * @module
 */
import { assertOpen, int, u64 } from './check.js';
import { SEND_FLAGS, WR_OPCODE } from './constants.js';
import { SendDescriptors, SlotEditor } from './descriptors.js';
import { rdmaError } from './errors.js';
import type { MemoryRegion } from './mr.js';
import type { NativeQueuePair } from './native.js';
import { QueuePair, postBank } from './qp.js';
import { addMethods, handle } from './resource.js';
import type { QpPhase } from './types/qp.js';
import type { SendWr } from './types/work-requests.js';

const M = 'PreparedSends';
const WITH_IMM = new Set([WR_OPCODE.SEND_WITH_IMM, WR_OPCODE.RDMA_WRITE_WITH_IMM]);
const SENDS = new Set([WR_OPCODE.SEND, WR_OPCODE.SEND_WITH_IMM]);
const ATOMICS = new Set([WR_OPCODE.ATOMIC_CMP_AND_SWP, WR_OPCODE.ATOMIC_FETCH_AND_ADD]);

/** Send work requests encoded once, posted many times ({@link QueuePair.prepareSend}). */
export class PreparedSends implements Disposable {
  /** The QP it posts to. */
  readonly qp: QueuePair<'ready'>;
  /** Number of work requests in the set. */
  readonly length: number;
  readonly #edit: SlotEditor;
  readonly #regions: MemoryRegion[][];
  #bank: number;

  /** @internal Use {@link QueuePair.prepareSend}. */
  constructor(qp: QueuePair<'ready'>, wrs: readonly SendWr[]) {
    const m = 'QueuePair.prepareSend';
    if (!Array.isArray(wrs) || wrs.length === 0) throw new TypeError(`${m}: wrs must be a non-empty array of work requests`);
    if (wrs.length > qp.cap.maxSendWr) throw new RangeError(`${m}: ${wrs.length} work requests exceed the send queue depth ${qp.cap.maxSendWr}`);
    const d = new SendDescriptors(wrs.length, qp.cap.maxSendSge);
    for (let i = 0; i < wrs.length; i++) d.write(m, i, wrs[i]!, qp.pd, qp.cap.maxInlineData, qp.type === 'UD');
    this.qp = qp;
    this.length = wrs.length;
    this.#edit = new SlotEditor(d);
    this.#regions = wrs.map((wr) => (wr.sg ?? []).map((e: { mr: MemoryRegion }) => e.mr));
    this.#bank = handle<NativeQueuePair>(qp).bindSendBank(d.buffer);
  }

  /** True once closed (directly, or by closing its QP). */
  get closed(): boolean {
    return this.#bank === 0 || this.qp.closed;
  }

  /**
   * Posts the first `count` work requests (default all) as one chain: one
   * native call, one doorbell. Throws as {@link QueuePair.postSend} does.
   */
  post(count?: number): void {
    if (this.#bank === 0) throw rdmaError('ibv_post_send', 'EBADF', 'PreparedSends is closed');
    postBank(this.qp, this.#bank, count === undefined ? this.length : int('ibv_post_send', 'count', count, 1, this.length));
  }

  /** Whether request `i` generates a completion. */
  setSignaled(i: number, signaled: boolean): void {
    this.#check(i);
    if (typeof signaled !== 'boolean') throw new TypeError(`${M}.setSignaled: signaled must be a boolean`);
    this.#edit.setFlag(i, SEND_FLAGS.SIGNALED, signaled);
  }

  /** The id request `i` reports in its completion. */
  setId(i: number, id: bigint): void {
    this.#check(i);
    if (typeof id !== 'bigint') throw new TypeError(`${M}.setId: id must be a u64 bigint`);
    this.#edit.setId(i, u64(`${M}.setId`, 'id', id));
  }

  /** Immediate data of request `i` (a `*_WITH_IMM` opcode). */
  setImm(i: number, imm: number): void {
    this.#check(i);
    if (!WITH_IMM.has(this.#edit.opcode(i))) throw new TypeError(`${M}.setImm: request ${i} carries no immediate (not a *_WITH_IMM opcode)`);
    this.#edit.setImm(i, int(`${M}.setImm`, 'imm', imm, 0, 0xffffffff));
  }

  /** Offset added to request `i`'s remote address (RDMA and atomic opcodes). */
  setRemoteOffset(i: number, offset: number): void {
    this.#check(i);
    if (SENDS.has(this.#edit.opcode(i))) throw new TypeError(`${M}.setRemoteOffset: request ${i} is a SEND (it has no remote target)`);
    this.#edit.setRemoteOffset(i, int(`${M}.setRemoteOffset`, 'offset', offset, 0, Number.MAX_SAFE_INTEGER));
  }

  /**
   * Moves SGE `sge` of request `i` within its region: `length` bytes at
   * `offset`. Checked against the region's bounds (and, for inline
   * requests, the QP's `maxInlineData`).
   */
  setSge(i: number, offset: number, length: number, sge = 0): void {
    const m = `${M}.setSge`;
    this.#check(i);
    int(m, 'sge', sge, 0, this.#edit.sgeCount(i) - 1);
    const mr = this.#regions[i]![sge]!;
    int(m, 'offset', offset, 0, mr.length);
    int(m, 'length', length, 0, Math.min(mr.length - offset, 0x7fffffff));
    const opcode = this.#edit.opcode(i);
    if (ATOMICS.has(opcode) && length !== 8) throw new RangeError(`${m}: request ${i} is an atomic: its SGE holds exactly 8 bytes`);
    if ((this.#edit.flags(i) & SEND_FLAGS.INLINE) !== 0) {
      let total = length;
      for (let s = 0; s < this.#edit.sgeCount(i); s++) if (s !== sge) total += this.#edit.sgeLength(i, s);
      if (total > this.qp.cap.maxInlineData) throw new RangeError(`${m}: ${total} inline bytes exceed this QP's maxInlineData ${this.qp.cap.maxInlineData}`);
    }
    this.#edit.setSge(i, sge, offset, length);
  }

  /** Releases the set's descriptors. Harmless when already closed. */
  close(): void {
    if (this.#bank === 0) return;
    handle<NativeQueuePair>(this.qp).unbindSendBank(this.#bank);
    this.#bank = 0;
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #check(i: number): void {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`${M}: request index must be an integer in [0, ${this.length - 1}], got ${String(i)}`);
    }
  }
}

declare module './qp.js' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- merges with the class, whose parameter it must repeat
  interface QueuePair<P extends QpPhase = QpPhase> {
    /**
     * Validates and encodes send work requests once; the returned set posts
     * them with one native call each ({@link PreparedSends.post}) and changes
     * single fields in place between posts. Up to `cap.maxSendWr` requests.
     */
    prepareSend(this: QueuePair<'ready'>, wrs: readonly SendWr[]): PreparedSends;
  }
}

addMethods(QueuePair, {
  prepareSend(this: QueuePair<'ready'>, wrs: readonly SendWr[]): PreparedSends {
    assertOpen(this.closed, 'QueuePair.prepareSend', 'QueuePair');
    return new PreparedSends(this, wrs);
  },
});
