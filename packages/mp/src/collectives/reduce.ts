/**
 * Reduce to a root over a binomial tree: each rank combines its children's
 * partial results into its own (smallest subtree first, in a fixed order, so
 * the result does not depend on timing) and sends the result to its parent.
 * `ceil(log2 size)` steps, any size.
 *
 * Order: with relative ranks (root = 0), the result at relative rank `v` is
 * `((d[v] op R[v+1]) op R[v+2]) op R[v+4] ...` where `R[c]` is the result of
 * child `c`'s subtree. Integer results equal the serial ones exactly; float
 * sums and products may differ from a left-to-right serial sum by rounding.
 * @module
 */
import * as check from '../check.js';
import { allocLike, reduceInto } from '../reduce.js';
import type { ReduceOp, ReducibleArray } from '../types.js';
import { COLLECTIVE_TAGS, bytesOf, checkP2p, recvExact, type PointToPoint } from './p2p.js';
import { absolute, children, parent, relative } from './tree.js';

/**
 * Combines every rank's `data` elementwise with `op`; the root's `data`
 * receives the result, the others' `data` is left as it was. All ranks pass
 * arrays of the same type and length.
 * @throws TypeError / RangeError for a malformed `p2p`, `data`, `op` or `root`; rejects with MpError
 *   `'EINVAL'` when the ranks' lengths differ, or the transport's error.
 */
export async function reduce(p2p: PointToPoint, data: ReducibleArray, op: ReduceOp, root: number): Promise<void> {
  const { rank, size } = checkP2p('reduce', p2p);
  check.reducible('reduce', 'data', data);
  check.op('reduce', op);
  check.rank('reduce', 'root', root, size);
  const tag = COLLECTIVE_TAGS.reduce;
  const v = relative(rank, root, size);
  // Smallest subtree first: it is the first ready.
  const kids = children(v, size).reverse();
  // The root accumulates in place; an inner rank in a copy (its input stays intact); a leaf just sends.
  let acc = data;
  if (kids.length > 0) {
    if (v !== 0) acc = data.slice() as ReducibleArray;
    const scratch = allocLike(data, data.length);
    const scratchBytes = bytesOf(scratch);
    for (const kid of kids) {
      await recvExact(p2p, absolute(kid, root, size), tag, scratchBytes);
      reduceInto(op, acc, scratch);
    }
  }
  if (v !== 0) await p2p.send(absolute(parent(v), root, size), tag, bytesOf(acc));
}
