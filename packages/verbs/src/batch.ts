/**
 * {@link CompletionBatch}: completions in reusable typed arrays, filled by
 * {@link CompletionQueue.pollInto} without allocating; and
 * {@link wcStatusText}.
 * @module
 */
import { int } from './check.js';
import { WC_FIELD, WC_FIELDS, WC_FLAGS, WC_OPCODE_NAME, WC_STATUS_NAME, WC_STATUS_TEXT, type WcOpcode, type WcStatus } from './constants.js';
import type { WorkCompletion } from './types/completion.js';

// Field indexes inside one completion of a batch (WC_FIELD: native/src/layouts.h).
const {
  STATUS: F_STATUS,
  OPCODE: F_OPCODE,
  VENDOR_ERR: F_VENDOR_ERR,
  BYTE_LEN: F_BYTE_LEN,
  IMM: F_IMM,
  QP_NUM: F_QP_NUM,
  SRC_QP: F_SRC_QP,
  FLAGS: F_FLAGS,
  PKEY_INDEX: F_PKEY_INDEX,
  SLID: F_SLID,
  SL: F_SL,
  DLID_PATH_BITS: F_DLID_PATH_BITS,
} = WC_FIELD;

/**
 * A reusable batch of completions in typed arrays, filled by
 * {@link CompletionQueue.pollInto}. Read entry `i < count` with the accessors.
 */
export class CompletionBatch {
  /** Work request ids, one per entry. */
  readonly ids: BigUint64Array;
  /** Raw fields, {@link CompletionBatch.FIELDS} per entry. */
  readonly fields: Uint32Array;
  /** Entries the last poll filled. */
  count = 0;
  /** Number of u32 fields per completion. */
  static readonly FIELDS = WC_FIELDS;

  /** @param capacity Most completions one poll returns. Default 64. */
  constructor(readonly capacity = 64) {
    int('CompletionBatch', 'capacity', capacity, 1, 1 << 20);
    this.ids = new BigUint64Array(capacity);
    this.fields = new Uint32Array(capacity * WC_FIELDS);
  }

  /** Work request id of entry `i`. */
  id(i: number): bigint {
    return this.ids[i]!;
  }
  /** Status of entry `i`. */
  status(i: number): WcStatus {
    return WC_STATUS_NAME[this.fields[i * WC_FIELDS + F_STATUS]!]!;
  }
  /** True when entry `i` succeeded. */
  ok(i: number): boolean {
    return this.fields[i * WC_FIELDS + F_STATUS] === 0;
  }
  /** Opcode of entry `i`. */
  opcode(i: number): WcOpcode {
    return WC_OPCODE_NAME[this.fields[i * WC_FIELDS + F_OPCODE]!]!;
  }
  /** Byte count of entry `i`. */
  byteLen(i: number): number {
    return this.fields[i * WC_FIELDS + F_BYTE_LEN]!;
  }
  /** Immediate data of entry `i`, or undefined. */
  imm(i: number): number | undefined {
    const base = i * WC_FIELDS;
    return (this.fields[base + F_FLAGS]! & WC_FLAGS.WITH_IMM) !== 0 ? this.fields[base + F_IMM] : undefined;
  }
  /** Local QP number of entry `i`. */
  qpNum(i: number): number {
    return this.fields[i * WC_FIELDS + F_QP_NUM]!;
  }
  /** Entry `i` as an object (allocates). */
  get(i: number): WorkCompletion {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`CompletionBatch.get: index ${i} out of [0, ${this.count})`);
    const base = i * WC_FIELDS;
    const f = this.fields;
    const status = this.status(i);
    return {
      id: this.ids[i]!,
      status,
      ok: status === 'SUCCESS',
      opcode: this.opcode(i),
      byteLen: f[base + F_BYTE_LEN]!,
      imm: this.imm(i),
      qpNum: f[base + F_QP_NUM]!,
      srcQp: f[base + F_SRC_QP]!,
      wcFlags: f[base + F_FLAGS]!,
      vendorErr: f[base + F_VENDOR_ERR]!,
      pkeyIndex: f[base + F_PKEY_INDEX]!,
      slid: f[base + F_SLID]!,
      sl: f[base + F_SL]!,
      dlidPathBits: f[base + F_DLID_PATH_BITS]!,
    };
  }
}

/** A human-readable text for a completion status (`ibv_wc_status_str`). */
export function wcStatusText(status: WcStatus): string {
  return WC_STATUS_TEXT[WC_STATUS_NAME.indexOf(status)] ?? status;
}
