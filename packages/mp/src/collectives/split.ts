/**
 * Communicator split (MPI_Comm_split): ranks that pass the same color form a
 * group, ordered by key and then by old rank; color {@link UNDEFINED_COLOR}
 * joins no group. The exchange is an allgather of `(color, key, rank)`
 * triples; the grouping itself is the pure {@link splitGroup}, so every rank
 * computes the same groups from the same table. Building the communicator
 * (a fresh context id, connections) is the communicator's job.
 * @module
 */
import * as check from '../check.js';
import { MpError } from '../errors.js';
import { UNDEFINED_COLOR, type Group, type Rank } from '../types.js';
import { allgather } from './allgather.js';
import { checkP2p, type PointToPoint } from './p2p.js';

/** One rank's row of the split table. */
export interface SplitEntry {
  /** The group it asks for (non-negative int32), or {@link UNDEFINED_COLOR}. */
  color: number;
  /** Orders the ranks within the group (int32; ties keep old rank order). */
  key: number;
  /** Its rank in the old communicator. */
  rank: Rank;
}

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/**
 * The group `rank` lands in, given every rank's entry: the ranks with its
 * color, sorted by key then old rank. `undefined` when `rank`'s color is
 * {@link UNDEFINED_COLOR}.
 * @throws TypeError / RangeError for entries with non-integer fields, colors other than a non-negative int32 or
 *   UNDEFINED_COLOR, keys outside int32, duplicate ranks, or a `rank` that has no entry.
 */
export function splitGroup(entries: readonly SplitEntry[], rank: Rank): Group | undefined {
  const seen = new Set<number>();
  let me: SplitEntry | undefined;
  for (const e of entries) {
    if (e.color !== UNDEFINED_COLOR) check.int('splitGroup', 'color', e.color, 0, INT32_MAX);
    check.int('splitGroup', 'key', e.key, INT32_MIN, INT32_MAX);
    check.int('splitGroup', 'rank', e.rank, 0, Number.MAX_SAFE_INTEGER);
    if (seen.has(e.rank)) throw new RangeError(`splitGroup: rank ${e.rank} appears twice`);
    seen.add(e.rank);
    if (e.rank === rank) me = e;
  }
  if (me === undefined) throw new RangeError(`splitGroup: rank ${rank} has no entry`);
  if (me.color === UNDEFINED_COLOR) return undefined;
  const color = me.color;
  const members = entries.filter((e) => e.color === color).sort((a, b) => a.key - b.key || a.rank - b.rank);
  const ranks = members.map((e) => e.rank);
  return { color, ranks, rank: ranks.indexOf(rank) };
}

/**
 * Collective: every rank passes its `color` (non-negative int32, or
 * {@link UNDEFINED_COLOR}) and `key` (int32); resolves with this rank's new
 * group, or `undefined` for UNDEFINED_COLOR.
 * @throws TypeError / RangeError for a malformed `p2p`, color or key; rejects with MpError `'EPROTO'` when a
 *   peer's row is inconsistent, or the transport's error.
 */
export async function split(p2p: PointToPoint, color: number, key: number): Promise<Group | undefined> {
  const { rank, size } = checkP2p('split', p2p);
  if (color !== UNDEFINED_COLOR) check.int('split', 'color', color, 0, INT32_MAX);
  check.int('split', 'key', key, INT32_MIN, INT32_MAX);
  const table = new Int32Array(3 * size);
  await allgather(p2p, Int32Array.of(color, key, rank), table);
  const entries: SplitEntry[] = [];
  for (let i = 0; i < size; i++) {
    const e = { color: table[3 * i] as number, key: table[3 * i + 1] as number, rank: table[3 * i + 2] as number };
    if (e.rank !== i || (e.color !== UNDEFINED_COLOR && e.color < 0)) {
      throw new MpError({ code: 'EPROTO', peer: i }, `split: rank ${i} sent an inconsistent row (color ${e.color}, rank ${e.rank})`);
    }
    entries.push(e);
  }
  return splitGroup(entries, rank);
}
