/**
 * Private-data framing. IB CM pads private data to a fixed size, so each
 * message carries a one-byte length first and the peer gets exactly the
 * bytes sent.
 * @internal
 * @module
 */
import { bytes } from '../check.js';
import type { CmType } from './types.js';

/**
 * @internal Private data caps less the one-byte frame (IB CM REQ/REP/REJ for
 * RC, SIDR REQ/REP for UD; rdma_cm's header takes 36 bytes of REQ and SIDR REQ).
 */
export const PRIVATE_MAX: Readonly<Record<CmType, { connect: number; accept: number; reject: number }>> = {
  RC: { connect: 56 - 1, accept: 196 - 1, reject: 148 - 1 },
  UD: { connect: 180 - 1, accept: 136 - 1, reject: 136 - 1 },
};

/** @internal Checks `data` (at most `max` bytes) and frames it; undefined stays undefined. */
export function frame(method: string, data: unknown, max: number): Buffer | undefined {
  if (data === undefined) return undefined;
  const checked = bytes(method, 'privateData', data, max);
  const out = Buffer.alloc(checked.length + 1);
  out[0] = checked.length;
  out.set(checked, 1);
  return out;
}

/** @internal The bytes a peer framed, as a copy that does not pin the padded message. */
export function unframe(raw: Buffer): Buffer {
  if (raw.length === 0) return Buffer.alloc(0);
  return Buffer.from(raw.subarray(1, 1 + Math.min(raw[0]!, raw.length - 1)));
}
