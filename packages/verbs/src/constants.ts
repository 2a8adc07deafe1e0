/**
 * The verbs enums as string unions, mapped to and from the numeric `ibv_*`
 * values the addon reports (read from the addon, never hard-coded here).
 * @module
 */
import { native } from './native.js';

const C = native.constants;

/** Queue pair transport: reliable connected, unreliable connected, or unreliable datagram. */
export type QpType = 'RC' | 'UC' | 'UD';
/** Queue pair state (`IBV_QPS_*`). */
export type QpState = 'RESET' | 'INIT' | 'RTR' | 'RTS' | 'SQD' | 'SQE' | 'ERR';
/** Path MTU in bytes. */
export type Mtu = 256 | 512 | 1024 | 2048 | 4096;
/** Memory access rights (`IBV_ACCESS_*`). */
export type Access =
  | 'LOCAL_WRITE'
  | 'REMOTE_WRITE'
  | 'REMOTE_READ'
  | 'REMOTE_ATOMIC'
  | 'MW_BIND'
  | 'ZERO_BASED'
  | 'ON_DEMAND'
  | 'RELAXED_ORDERING';
/** Send work request opcode (`IBV_WR_*`). */
export type SendOpcode =
  | 'SEND'
  | 'SEND_WITH_IMM'
  | 'RDMA_WRITE'
  | 'RDMA_WRITE_WITH_IMM'
  | 'RDMA_READ'
  | 'ATOMIC_CMP_AND_SWP'
  | 'ATOMIC_FETCH_AND_ADD';
/** Work completion opcode (`IBV_WC_*`). */
export type WcOpcode =
  | 'SEND'
  | 'RDMA_WRITE'
  | 'RDMA_READ'
  | 'COMP_SWAP'
  | 'FETCH_ADD'
  | 'BIND_MW'
  | 'LOCAL_INV'
  | 'RECV'
  | 'RECV_RDMA_WITH_IMM';
/** Work completion status (`IBV_WC_*`); anything but `'SUCCESS'` is an error. */
export type WcStatus =
  | 'SUCCESS'
  | 'LOC_LEN_ERR'
  | 'LOC_QP_OP_ERR'
  | 'LOC_EEC_OP_ERR'
  | 'LOC_PROT_ERR'
  | 'WR_FLUSH_ERR'
  | 'MW_BIND_ERR'
  | 'BAD_RESP_ERR'
  | 'LOC_ACCESS_ERR'
  | 'REM_INV_REQ_ERR'
  | 'REM_ACCESS_ERR'
  | 'REM_OP_ERR'
  | 'RETRY_EXC_ERR'
  | 'RNR_RETRY_EXC_ERR'
  | 'LOC_RDD_VIOL_ERR'
  | 'REM_INV_RD_REQ_ERR'
  | 'REM_ABORT_ERR'
  | 'INV_EECN_ERR'
  | 'INV_EEC_STATE_ERR'
  | 'FATAL_ERR'
  | 'RESP_TIMEOUT_ERR'
  | 'GENERAL_ERR'
  | 'TM_ERR'
  | 'TM_RNDV_INCOMPLETE';

/** Advice for {@link ProtectionDomain.adviseMemory} (`IBV_ADVISE_MR_ADVICE_*`): prefetch for reading, for writing, or without faulting pages in. */
export type MemoryAdvice = 'PREFETCH' | 'PREFETCH_WRITE' | 'PREFETCH_NO_FAULT';

/** Reverse map: number -> name, as a dense array for allocation-free lookups. */
function names<T extends string>(table: Record<string, number>): T[] {
  const out: T[] = [];
  for (const [name, value] of Object.entries(table)) out[value] = name as T;
  return out;
}

/** @internal */ export const QP_TYPE = C.QP_TYPE as Record<QpType, number>;
/** @internal */ export const QP_STATE = C.QP_STATE as Record<QpState, number>;
/** @internal */ export const QP_STATE_NAME = names<QpState>(C.QP_STATE);
/** @internal */ export const ACCESS = C.ACCESS as Record<Access, number>;
/** @internal */ export const WR_OPCODE = C.WR_OPCODE as Record<SendOpcode, number>;
/** @internal */ export const SEND_FLAGS = C.SEND_FLAGS as Record<'FENCE' | 'SIGNALED' | 'SOLICITED' | 'INLINE', number>;
/** @internal */ export const WC_OPCODE_NAME = names<WcOpcode>(C.WC_OPCODE);
/** @internal */ export const WC_STATUS = C.WC_STATUS as Record<WcStatus, number>;
/** @internal */ export const WC_STATUS_NAME = names<WcStatus>(C.WC_STATUS);
/** @internal */ export const WC_STATUS_TEXT = C.WC_STATUS_TEXT;
/** @internal */ export const WC_FLAGS = C.WC_FLAGS as Record<'GRH' | 'WITH_IMM' | 'IP_CSUM_OK' | 'WITH_INV', number>;
/** @internal */ export const ADVISE_MR = C.ADVISE_MR as Record<MemoryAdvice, number>;
/** @internal */ export const ADVISE_MR_FLAGS = C.ADVISE_MR_FLAGS;

// The records shared with the addon through typed arrays, declared once in
// native/src/layouts.h: byte offsets of the send/receive slot headers and of
// an SGE record (BYTES: their sizes), and u32 indexes of a completion's fields.
/** @internal */ export const SEND_SLOT = C.SEND_SLOT;
/** @internal */ export const RECV_SLOT = C.RECV_SLOT;
/** @internal */ export const SGE = C.SGE;
/** @internal */ export const WC_FIELD = C.WC_FIELD;
/** @internal u32 fields per completion. */ export const WC_FIELDS = C.WC_FIELD.COUNT;

/** @internal MTU in bytes -> `IBV_MTU_*`. */
export function mtuEnum(bytes: number): number {
  const v = C.MTU[String(bytes)];
  if (v === undefined) throw new RangeError(`mtu must be one of 256, 512, 1024, 2048, 4096; got ${bytes}`);
  return v;
}

/** @internal `IBV_MTU_*` -> bytes. */
export function mtuBytes(value: number): Mtu {
  return (128 << value) as Mtu;
}

/** @internal Access names -> bit mask, with a clear error for unknown names. */
export function accessMask(method: string, access: readonly Access[]): number {
  if (!Array.isArray(access)) throw new TypeError(`${method}: access must be an array of access names`);
  let mask = 0;
  for (const a of access) {
    const bit = ACCESS[a as Access] as number | undefined;
    if (bit === undefined) {
      throw new RangeError(`${method}: unknown access '${String(a)}' (expected ${Object.keys(ACCESS).join(', ')})`);
    }
    mask |= bit;
  }
  return mask;
}

/** @internal Bit mask -> access names. */
export function accessNames(mask: number): Access[] {
  return (Object.keys(ACCESS) as Access[]).filter((a) => (mask & ACCESS[a]) !== 0);
}
