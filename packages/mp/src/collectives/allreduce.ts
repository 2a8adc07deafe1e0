/**
 * Allreduce: every rank ends with the elementwise combination of all ranks'
 * arrays, bit-identical on every rank.
 *
 * - {@link allreduceRecursiveDoubling} (small vectors, latency-bound):
 *   `log2 p` rounds of pairwise exchange of the whole vector, `p` the largest
 *   power of two <= size. For other sizes the first `2 * (size - p)` ranks
 *   fold first: each even one hands its vector to the odd one above it and
 *   sits out, getting the result back at the end (the standard MPICH/Open MPI
 *   fold). Both partners of a round compute `mine op theirs`, which is the
 *   same bits either way round because every operator is commutative bit for
 *   bit (see `reduceInto`).
 * - {@link allreduceRing} (large vectors, bandwidth-bound): the vector is cut
 *   into `size` chunks; a ring reduce-scatter (`size - 1` steps, each rank
 *   adds the chunk from its left neighbour) leaves chunk `(r + 1) mod size`
 *   complete on rank `r`, and a ring allgather (`size - 1` steps) spreads the
 *   complete chunks. Each rank sends and receives `2 (size-1)/size` of the
 *   vector in total, the minimum. Chosen over Rabenseifner (recursive
 *   halving) because it needs no power-of-two fold and keeps one neighbour
 *   pair, at the cost of `2 (size - 1)` latencies, negligible for large vectors.
 * - {@link allreduce} picks: ring from {@link ALLREDUCE_RING_MIN_BYTES} on,
 *   if the vector has at least `size` elements.
 *
 * Order: deterministic for a given size, algorithm and length. Integer
 * results equal a serial computation exactly; float sums and products may
 * differ from the serial left-to-right order by rounding.
 * @module
 */
import * as check from '../check.js';
import { allocLike, reduceInto } from '../reduce.js';
import type { ReduceOp, ReducibleArray } from '../types.js';
import { COLLECTIVE_TAGS, bytesOf, checkP2p, exchange, floorPow2, recvExact, type PointToPoint } from './p2p.js';

/** Vectors of at least this many bytes use {@link allreduceRing} (to be tuned on the testbed). */
export const ALLREDUCE_RING_MIN_BYTES = 64 * 1024;

/**
 * Replaces every rank's `data` by the elementwise `op` of all ranks' `data`
 * (same type and length on every rank).
 * @throws TypeError / RangeError for a malformed `p2p`, `data` or `op`; rejects with MpError `'EINVAL'` when
 *   the ranks' lengths differ, or the transport's error.
 */
export async function allreduce(p2p: PointToPoint, data: ReducibleArray, op: ReduceOp): Promise<void> {
  const { size } = checkP2p('allreduce', p2p);
  check.reducible('allreduce', 'data', data);
  if (size > 1 && data.byteLength >= ALLREDUCE_RING_MIN_BYTES && data.length >= size) return allreduceRing(p2p, data, op);
  return allreduceRecursiveDoubling(p2p, data, op);
}

/**
 * Recursive-doubling allreduce with the fold for sizes that are not powers of two.
 * @throws like {@link allreduce}.
 */
export async function allreduceRecursiveDoubling(p2p: PointToPoint, data: ReducibleArray, op: ReduceOp): Promise<void> {
  const { rank, size } = checkP2p('allreduceRecursiveDoubling', p2p);
  check.reducible('allreduceRecursiveDoubling', 'data', data);
  check.op('allreduceRecursiveDoubling', op);
  if (size === 1) return;
  const tag = COLLECTIVE_TAGS.allreduce;
  const pow = floorPow2(size);
  const extra = size - pow;
  const bytes = bytesOf(data);
  const scratch = allocLike(data, data.length);
  const scratchBytes = bytesOf(scratch);
  // Fold: ranks 2i and 2i+1 (i < extra) become one; the odd one goes on as i.
  let vrank: number;
  if (rank < 2 * extra) {
    if (rank % 2 === 0) {
      await p2p.send(rank + 1, tag, bytes);
      vrank = -1;
    } else {
      await recvExact(p2p, rank - 1, tag, scratchBytes);
      reduceInto(op, data, scratch);
      vrank = rank >> 1;
    }
  } else {
    vrank = rank - extra;
  }
  if (vrank >= 0) {
    for (let mask = 1; mask < pow; mask *= 2) {
      const vpartner = vrank ^ mask;
      const partner = vpartner < extra ? vpartner * 2 + 1 : vpartner + extra;
      await exchange(p2p, partner, bytes, partner, scratchBytes, tag);
      reduceInto(op, data, scratch);
    }
  }
  // Unfold: the odd rank hands the result back to its even partner.
  if (rank < 2 * extra) {
    if (rank % 2 === 0) await recvExact(p2p, rank + 1, tag, bytes);
    else await p2p.send(rank - 1, tag, bytes);
  }
}

/**
 * Ring reduce-scatter + ring allgather allreduce. Works for any length
 * (chunks differ by at most one element; some may be empty).
 * @throws like {@link allreduce}.
 */
export async function allreduceRing(p2p: PointToPoint, data: ReducibleArray, op: ReduceOp): Promise<void> {
  const { rank, size } = checkP2p('allreduceRing', p2p);
  check.reducible('allreduceRing', 'data', data);
  check.op('allreduceRing', op);
  if (size === 1) return;
  const tag = COLLECTIVE_TAGS.allreduce;
  const len = data.length;
  const base = Math.floor(len / size);
  const rem = len % size;
  const start = (i: number): number => i * base + Math.min(i, rem);
  const chunk = (i: number): ReducibleArray => sub(data, start(i), start(i + 1));
  const scratch = allocLike(data, base + (rem > 0 ? 1 : 0));
  const right = (rank + 1) % size;
  const left = (rank - 1 + size) % size;
  for (let s = 0; s < size - 1; s++) {
    const out = (rank - s + size) % size;
    const into = (rank - s - 1 + 2 * size) % size;
    const target = chunk(into);
    const tmp = sub(scratch, 0, target.length);
    await exchange(p2p, right, bytesOf(chunk(out)), left, bytesOf(tmp), tag);
    reduceInto(op, target, tmp);
  }
  for (let s = 0; s < size - 1; s++) {
    const out = (rank + 1 - s + size) % size;
    const into = (rank - s + size) % size;
    await exchange(p2p, right, bytesOf(chunk(out)), left, bytesOf(chunk(into)), tag);
  }
}

function sub(a: ReducibleArray, begin: number, end: number): ReducibleArray {
  return (a as Float64Array).subarray(begin, end) as unknown as ReducibleArray;
}
