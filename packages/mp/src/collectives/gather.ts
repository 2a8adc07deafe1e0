/**
 * Gather to a root over a binomial tree: each rank collects its subtree's
 * blocks (contiguous in relative-rank order) from its children and passes
 * them up in one message, so the root receives `log2 size` messages instead
 * of `size - 1` (the linear algorithm's hot spot), at the price of inner
 * ranks buffering their subtree. The root rotates relative order back to
 * rank order (a copy, skipped when root = 0). Any size.
 * @module
 */
import * as check from '../check.js';
import { COLLECTIVE_TAGS, checkP2p, recvExact, type PointToPoint } from './p2p.js';
import { absolute, children, parent, relative, subtreeSize } from './tree.js';

/**
 * Gathers every rank's `send` (same byte length everywhere) into the root's
 * `recv`, block `i` from rank `i`. `recv` is only used on the root (pass
 * `undefined` elsewhere).
 * @throws TypeError for a malformed `p2p`, buffer or missing root `recv`; RangeError for a bad `root` or a root
 *   `recv` that is not `size * send.byteLength`; rejects with MpError `'EINVAL'` when the ranks' lengths differ,
 *   or the transport's error.
 */
export async function gather(
  p2p: PointToPoint,
  send: ArrayBufferView,
  recv: ArrayBufferView | undefined,
  root: number,
): Promise<void> {
  const { rank, size } = checkP2p('gather', p2p);
  const mine = check.bytes('gather', 'send', send);
  check.rank('gather', 'root', root, size);
  const b = mine.length;
  let out: Uint8Array | undefined;
  if (rank === root) {
    out = check.bytes('gather', 'recv', recv);
    if (out.length !== size * b) throw new RangeError(`gather: recv must be size * send.byteLength = ${size * b} bytes, got ${out.length}`);
  }
  const tag = COLLECTIVE_TAGS.gather;
  const v = relative(rank, root, size);
  const count = subtreeSize(v, size);
  if (count === 1 && v !== 0) {
    await p2p.send(absolute(parent(v), root, size), tag, mine);
    return;
  }
  // The subtree's blocks in relative order; at root 0 that is already `recv`.
  const buf = out !== undefined && root === 0 ? out : new Uint8Array(count * b);
  buf.set(mine, 0);
  await Promise.all(
    children(v, size).map((kid) =>
      recvExact(p2p, absolute(kid, root, size), tag, buf.subarray((kid - v) * b, (kid - v + subtreeSize(kid, size)) * b)),
    ),
  );
  if (v !== 0) {
    await p2p.send(absolute(parent(v), root, size), tag, buf);
  } else if (out !== undefined && buf !== out) {
    // Relative block j is rank (j + root) mod size.
    out.set(buf.subarray(0, (size - root) * b), root * b);
    out.set(buf.subarray((size - root) * b), 0);
  }
}
