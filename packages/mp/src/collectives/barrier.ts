/**
 * Barrier by dissemination (Hensgen, Finkel and Manber): in round `k` every
 * rank sends an empty message to `rank + 2^k` and waits for one from
 * `rank - 2^k` (mod size). After `ceil(log2 size)` rounds every rank has
 * heard, directly or through others, from every rank, so nobody leaves
 * before everyone arrived. Works for any size (no power-of-two fold needed);
 * size 1 returns at once.
 * @module
 */
import { COLLECTIVE_TAGS, EMPTY, checkP2p, exchange, type PointToPoint } from './p2p.js';

/**
 * Resolves once every rank of `p2p` has entered the barrier.
 * @throws TypeError for a malformed `p2p`; rejects with the transport's error (e.g. MpError `'EPEERDEAD'`).
 */
export async function barrier(p2p: PointToPoint): Promise<void> {
  checkP2p('barrier', p2p);
  const { rank, size } = p2p;
  // One tag for all rounds: a rank's partners differ from round to round (distances 2^k < size are distinct mod size).
  for (let dist = 1; dist < size; dist *= 2) {
    await exchange(p2p, (rank + dist) % size, EMPTY, (rank - dist + size) % size, EMPTY, COLLECTIVE_TAGS.barrier);
  }
}
