/**
 * Scatter from a root over a binomial tree, the mirror of gather: the root
 * sends each child its subtree's blocks in one message, inner ranks keep
 * their own block and forward the rest. `log2 size` steps instead of the
 * linear algorithm's `size - 1` sends from the root; inner ranks buffer
 * their subtree. The root first rotates rank order into relative order (a
 * copy, skipped when root = 0). Any size.
 * @module
 */
import * as check from '../check.js';
import { COLLECTIVE_TAGS, checkP2p, recvExact, type PointToPoint } from './p2p.js';
import { absolute, children, parent, relative, subtreeSize } from './tree.js';

/**
 * Sends block `i` of the root's `send` to rank `i`'s `recv` (all `recv` the
 * same byte length). `send` is only used on the root (pass `undefined`
 * elsewhere).
 * @throws TypeError for a malformed `p2p`, buffer or missing root `send`; RangeError for a bad `root` or a root
 *   `send` that is not `size * recv.byteLength`; rejects with MpError `'EINVAL'` when the ranks' lengths differ,
 *   or the transport's error.
 */
export async function scatter(
  p2p: PointToPoint,
  send: ArrayBufferView | undefined,
  recv: ArrayBufferView,
  root: number,
): Promise<void> {
  const { rank, size } = checkP2p('scatter', p2p);
  const mine = check.bytes('scatter', 'recv', recv);
  check.rank('scatter', 'root', root, size);
  const b = mine.length;
  const tag = COLLECTIVE_TAGS.scatter;
  const v = relative(rank, root, size);
  const count = subtreeSize(v, size);
  let buf: Uint8Array;
  if (v === 0) {
    const all = check.bytes('scatter', 'send', send);
    if (all.length !== size * b) throw new RangeError(`scatter: send must be size * recv.byteLength = ${size * b} bytes, got ${all.length}`);
    if (root === 0) {
      buf = all;
    } else {
      buf = new Uint8Array(size * b);
      buf.set(all.subarray(root * b), 0);
      buf.set(all.subarray(0, root * b), (size - root) * b);
    }
  } else if (count === 1) {
    await recvExact(p2p, absolute(parent(v), root, size), tag, mine);
    return;
  } else {
    buf = new Uint8Array(count * b);
    await recvExact(p2p, absolute(parent(v), root, size), tag, buf);
  }
  await Promise.all(
    children(v, size).map((kid) =>
      p2p.send(absolute(kid, root, size), tag, buf.subarray((kid - v) * b, (kid - v + subtreeSize(kid, size)) * b)),
    ),
  );
  mine.set(buf.subarray(0, b));
}
