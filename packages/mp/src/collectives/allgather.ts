/**
 * Allgather by ring: every rank contributes one block of the same length and
 * ends with all blocks in rank order. In step `s` rank `r` passes block
 * `r - s` to its right neighbour and takes block `r - s - 1` from its left,
 * straight into place; `size - 1` steps, each rank sends and receives
 * `(size - 1)` blocks, the minimum. Any size.
 * @module
 */
import * as check from '../check.js';
import { COLLECTIVE_TAGS, checkP2p, exchange, type PointToPoint } from './p2p.js';

/**
 * Gathers every rank's `send` into every rank's `recv`: block `i` of `recv`
 * (bytes `[i * send.byteLength, (i + 1) * send.byteLength)`) is rank `i`'s
 * `send`. `send` may be a view of this rank's own block of `recv`.
 * @throws TypeError for a malformed `p2p` or non-typed-array buffers; RangeError when `recv.byteLength` is not
 *   `size * send.byteLength`; rejects with MpError `'EINVAL'` when the ranks' lengths differ, or the transport's error.
 */
export async function allgather(p2p: PointToPoint, send: ArrayBufferView, recv: ArrayBufferView): Promise<void> {
  const { rank, size } = checkP2p('allgather', p2p);
  const mine = check.bytes('allgather', 'send', send);
  const all = check.bytes('allgather', 'recv', recv);
  const b = mine.length;
  if (all.length !== size * b) throw new RangeError(`allgather: recv must be size * send.byteLength = ${size * b} bytes, got ${all.length}`);
  all.set(mine, rank * b);
  const block = (i: number): Uint8Array => all.subarray(i * b, (i + 1) * b);
  const right = (rank + 1) % size;
  const left = (rank - 1 + size) % size;
  for (let s = 0; s < size - 1; s++) {
    await exchange(p2p, right, block((rank - s + size) % size), left, block((rank - s - 1 + size) % size), COLLECTIVE_TAGS.allgather);
  }
}
