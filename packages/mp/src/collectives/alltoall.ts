/**
 * All-to-all by pairwise exchange: in step `s` (1 .. size-1) rank `r` sends
 * its block for `r + s` and receives the block from `r - s` (mod size). Each
 * step has one send and one receive per rank, so no rank is flooded, and the
 * schedule works for any size (XOR pairing would need a power of two).
 * @module
 */
import * as check from '../check.js';
import { COLLECTIVE_TAGS, checkP2p, exchange, type PointToPoint } from './p2p.js';

/**
 * Block `j` of this rank's `send` goes to rank `j`, where it lands as block
 * `rank` of `recv`. `send` and `recv` have the same byte length, a multiple
 * of `size`, and must not overlap.
 * @throws TypeError for a malformed `p2p` or buffers; RangeError when the lengths differ or are not a multiple
 *   of `size`; rejects with MpError `'EINVAL'` when the ranks' lengths differ, or the transport's error.
 */
export async function alltoall(p2p: PointToPoint, send: ArrayBufferView, recv: ArrayBufferView): Promise<void> {
  const { rank, size } = checkP2p('alltoall', p2p);
  const out = check.bytes('alltoall', 'send', send);
  const into = check.bytes('alltoall', 'recv', recv);
  if (out.length !== into.length || out.length % size !== 0) {
    throw new RangeError(`alltoall: send and recv must have the same byte length, a multiple of size ${size}; got ${out.length} and ${into.length}`);
  }
  const b = out.length / size;
  into.set(out.subarray(rank * b, (rank + 1) * b), rank * b);
  for (let s = 1; s < size; s++) {
    const dest = (rank + s) % size;
    const source = (rank - s + size) % size;
    await exchange(p2p, dest, out.subarray(dest * b, (dest + 1) * b), source, into.subarray(source * b, (source + 1) * b), COLLECTIVE_TAGS.alltoall);
  }
}
