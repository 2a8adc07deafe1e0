/**
 * Plain data of completions: a {@link WorkCompletion} as an object, the
 * options of the waiting methods and of {@link Context.createCq}.
 * @module
 */
import type { CompletionChannel } from '../channel.js';
import type { WcOpcode, WcStatus } from '../constants.js';

/** A finished work request, as an object (see {@link CompletionBatch} for the allocation-free form). */
export interface WorkCompletion {
  /** The `id` given when the work request was posted. */
  id: bigint;
  /**
   * `'SUCCESS'`, or why the work request failed (see {@link wcStatusText}).
   * After an error the QP is in ERR and its other requests flush with `'WR_FLUSH_ERR'`.
   */
  status: WcStatus;
  /** True when `status === 'SUCCESS'`. */
  ok: boolean;
  /** What completed. Undefined by the verbs spec when the status is an error. */
  opcode: WcOpcode;
  /** Bytes received (receives) or read/atomically fetched. */
  byteLen: number;
  /** Immediate data (host byte order) when the peer sent one, else undefined. */
  imm: number | undefined;
  /** Local QP number the completion belongs to. */
  qpNum: number;
  /** Source QP (UD receives). */
  srcQp: number;
  /** Raw `IBV_WC_*` flags. */
  wcFlags: number;
  /** Provider-specific error detail. */
  vendorErr: number;
  /** UD receives: partition key index. */
  pkeyIndex: number;
  /** UD receives: source LID (0 on RoCE). */
  slid: number;
  /** UD receives: service level. */
  sl: number;
  /** UD receives: destination LID path bits. */
  dlidPathBits: number;
}

/** Options of the waiting methods. */
export interface WaitOptions {
  /** Reject with ETIMEDOUT after this many milliseconds. */
  timeoutMs?: number;
  /** Reject with the signal's reason when aborted. */
  signal?: AbortSignal;
  /**
   * Spin on the CQ for up to this many microseconds before sleeping on the
   * channel: lower latency for a burned core. Default 0.
   */
  busyPollUs?: number;
}

/** Options of {@link Context.createCq}. */
export interface CqOptions {
  /** Minimum number of completions the queue holds (the device may round up). Default 256. */
  entries?: number;
  /** Channel for event-driven completion; without one the CQ can only be polled. */
  channel?: CompletionChannel;
  /** Completion vector (interrupt) to use. Default 0. */
  compVector?: number;
}
