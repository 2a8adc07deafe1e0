/**
 * A connection's tunables ({@link LinkOptions}), their defaults and their
 * checks, and the fixed sizes of the queues every part of the link shares.
 * @module
 */
import { int, pow2, str } from '@rdmajs/verbs/check';
import { CONTROL_RESERVE, MAX_RING, MIN_RING } from '../protocol.js';

/** Tunables of one connection (defaults suit 1–10 GbE-class links). */
export interface LinkOptions {
  /** Receive ring bytes, a power of two in [4 KiB, 128 MiB]. Default 1 MiB. */
  ringSize?: number;
  /** Receive WQEs (message credits) offered to the peer. Default 136. */
  recvCredits?: number;
  /** Spin this long on the CQ before sleeping (latency vs CPU). Default 0. */
  busyPollUs?: number;
  /**
   * Writes of at least this many bytes are sent straight from the caller's
   * buffer (registered the second time that buffer is written) instead of
   * being copied; their write callback runs once the peer's NIC has them.
   * 0 disables. Default 256 KiB.
   */
  zeroCopyThreshold?: number;
  /** RDMA device (default: the first with an active port). */
  device?: string;
}

/** Send queue depth (work requests). */
export const SEND_WR = 256;
/** DATA messages up to this size go inline (copied into the work request). */
export const INLINE_MAX = 64;
export const DEFAULT_RING = 1 << 20;
export const DEFAULT_CREDITS = 128 + CONTROL_RESERVE;
// Below this, copying wins: a zero-copy write's callback waits for its
// completion, so a writer that waits for each callback (pipe, drain) has one
// write in flight instead of a ring's worth.
export const DEFAULT_ZERO_COPY = 256 * 1024;

/** Throws a TypeError/RangeError naming `method` for a bad {@link LinkOptions} field. */
export function checkLinkOptions(method: string, o: LinkOptions): void {
  const check = (name: keyof LinkOptions, min: number, max: number, isPow2 = false): void => {
    if (o[name] !== undefined) (isPow2 ? pow2 : int)(method, name, o[name], min, max);
  };
  check('ringSize', MIN_RING, MAX_RING, true);
  check('recvCredits', CONTROL_RESERVE + 1, SEND_WR * 64);
  check('busyPollUs', 0, 1_000_000);
  check('zeroCopyThreshold', 0, 2 ** 32);
  if (o.device !== undefined) str(method, 'device', o.device);
}
