/**
 * Broadcast from a root.
 *
 * - {@link bcastBinomial}: the root sends to its binomial children, each
 *   child forwards to its own; `ceil(log2 size)` steps. Best when latency
 *   dominates.
 * - {@link bcastPipelined}: the same tree, but the buffer travels in segments
 *   and an inner rank forwards segment `s` while segment `s + 1` is still
 *   arriving, so for large buffers the cost approaches one buffer's transfer
 *   time plus `log2 size` segments instead of `log2 size` whole buffers.
 *   Chosen over scatter + allgather (van de Geijn) because it keeps the tree
 *   of the small case and matches what the benchmark anchor pins: Open MPI's
 *   binomial bcast (coll tuned algorithm 6) segmented with
 *   `coll_tuned_bcast_algorithm_segmentsize` = {@link BCAST_SEGMENT_BYTES}.
 * - {@link bcast} picks: pipelined from {@link BCAST_PIPELINE_MIN_BYTES} on
 *   (and more than two ranks, where there is something to overlap).
 * @module
 */
import * as check from '../check.js';
import { COLLECTIVE_TAGS, Outstanding, checkP2p, recvExact, type PointToPoint } from './p2p.js';
import { absolute, children, parent, relative } from './tree.js';

/** Buffers of at least this many bytes use {@link bcastPipelined} (to be tuned on the testbed). */
export const BCAST_PIPELINE_MIN_BYTES = 128 * 1024;

/** Segment size of {@link bcastPipelined} by default. */
export const BCAST_SEGMENT_BYTES = 64 * 1024;

/**
 * Copies the root's `data` into every rank's `data` (same byte length on all
 * ranks); resolves when this rank's copy is complete and its forwards are done.
 * @throws TypeError / RangeError for a malformed `p2p`, `data` or `root`; rejects with MpError `'EINVAL'`
 *   when the ranks' lengths differ, or the transport's error.
 */
export async function bcast(p2p: PointToPoint, data: ArrayBufferView, root: number): Promise<void> {
  checkP2p('bcast', p2p);
  const bytes = check.bytes('bcast', 'data', data);
  if (p2p.size > 2 && bytes.length >= BCAST_PIPELINE_MIN_BYTES) return bcastPipelined(p2p, bytes, root);
  return bcastBinomial(p2p, bytes, root);
}

/**
 * Binomial-tree broadcast (whole buffer per message).
 * @throws like {@link bcast}.
 */
export async function bcastBinomial(p2p: PointToPoint, data: ArrayBufferView, root: number): Promise<void> {
  const { rank, size } = checkP2p('bcastBinomial', p2p);
  const bytes = check.bytes('bcastBinomial', 'data', data);
  check.rank('bcastBinomial', 'root', root, size);
  const tag = COLLECTIVE_TAGS.bcast;
  const v = relative(rank, root, size);
  if (v !== 0) await recvExact(p2p, absolute(parent(v), root, size), tag, bytes);
  await Promise.all(children(v, size).map((c) => p2p.send(absolute(c, root, size), tag, bytes)));
}

/**
 * Segmented, pipelined binomial-tree broadcast.
 * @param segmentBytes segment size (the last segment may be shorter).
 * @throws like {@link bcast}; RangeError for a `segmentBytes` below 1.
 */
export async function bcastPipelined(
  p2p: PointToPoint,
  data: ArrayBufferView,
  root: number,
  segmentBytes: number = BCAST_SEGMENT_BYTES,
): Promise<void> {
  const { rank, size } = checkP2p('bcastPipelined', p2p);
  const bytes = check.bytes('bcastPipelined', 'data', data);
  check.rank('bcastPipelined', 'root', root, size);
  check.int('bcastPipelined', 'segmentBytes', segmentBytes, 1, Number.MAX_SAFE_INTEGER);
  const tag = COLLECTIVE_TAGS.bcast;
  const v = relative(rank, root, size);
  const kids = children(v, size).map((c) => absolute(c, root, size));
  const segments = Math.max(1, Math.ceil(bytes.length / segmentBytes));
  const segment = (s: number): Uint8Array => bytes.subarray(s * segmentBytes, Math.min(bytes.length, (s + 1) * segmentBytes));
  const pending = new Outstanding();
  // All receives are posted up front (into their final place), so segment s+1
  // can land while segment s is forwarded; one (source, tag) keeps them in order.
  const arrivals: Promise<void>[] = [];
  if (v !== 0) {
    const from = absolute(parent(v), root, size);
    for (let s = 0; s < segments; s++) arrivals.push(pending.add(recvExact(p2p, from, tag, segment(s))));
  }
  for (let s = 0; s < segments; s++) {
    if (v !== 0) await arrivals[s];
    const seg = segment(s);
    for (const kid of kids) pending.add(p2p.send(kid, tag, seg));
  }
  await pending.settle();
}
