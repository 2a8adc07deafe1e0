// split: the pure group computation, and the collective (an allgather of
// (color, key, rank)) whose groups then carry their own collectives.
import { describe, expect, it } from 'vitest';

import { UNDEFINED_COLOR, allreduce, split, splitGroup, type Group, type PointToPoint } from '../../src/index.js';
import type { FakeRank } from './fake-transport.js';
import { SIZES, onAll, world } from './collective-helpers.js';

describe('splitGroup', () => {
  const table = [
    { color: 1, key: 5, rank: 0 },
    { color: 0, key: 0, rank: 1 },
    { color: 1, key: -3, rank: 2 },
    { color: UNDEFINED_COLOR, key: 0, rank: 3 },
    { color: 1, key: 5, rank: 4 },
    { color: 0, key: 0, rank: 5 },
  ];

  it('groups by color, orders by key then old rank', () => {
    expect(splitGroup(table, 0)).toEqual({ color: 1, ranks: [2, 0, 4], rank: 1 });
    expect(splitGroup(table, 2)).toEqual({ color: 1, ranks: [2, 0, 4], rank: 0 });
    expect(splitGroup(table, 4)).toEqual({ color: 1, ranks: [2, 0, 4], rank: 2 });
    expect(splitGroup(table, 5)).toEqual({ color: 0, ranks: [1, 5], rank: 1 });
  });

  it('UNDEFINED_COLOR joins no group', () => {
    expect(splitGroup(table, 3)).toBeUndefined();
    expect(splitGroup([{ color: UNDEFINED_COLOR, key: 0, rank: 0 }], 0)).toBeUndefined();
  });

  it('rejects malformed tables', () => {
    expect(() => splitGroup(table, 9)).toThrow(/rank 9 has no entry/);
    expect(() => splitGroup([...table, { color: 0, key: 0, rank: 1 }], 1)).toThrow(/rank 1 appears twice/);
    expect(() => splitGroup([{ color: -2, key: 0, rank: 0 }], 0)).toThrow(RangeError);
    expect(() => splitGroup([{ color: 0, key: 2 ** 31, rank: 0 }], 0)).toThrow(/key must be an integer/);
    expect(() => splitGroup([{ color: 0.5, key: 0, rank: 0 }], 0)).toThrow(RangeError);
  });
});

/** The group as a PointToPoint over the parent's (new rank -> old rank), in its own tag window. */
function groupP2p(parent: FakeRank, group: Group, tagBase: number): PointToPoint {
  const old = (r: number): number => group.ranks[r] as number;
  return {
    rank: group.rank,
    size: group.ranks.length,
    send: (dest, tag, data) => parent.send(old(dest), tag + tagBase, data),
    recv: (source, tag, into) => parent.recv(old(source), tag + tagBase, into),
  };
}

describe('split', () => {
  for (const size of SIZES) {
    it(`${size} rank(s): every rank gets the group the table says, and the groups work`, async () => {
      const color = (r: number): number => (r % 4 === 3 ? UNDEFINED_COLOR : r % 3);
      const key = (r: number): number => -r * 7; // reverses the old order
      const w = world(size);
      const groups = await onAll(w, (p) => split(p, color(p.rank), key(p.rank)));
      for (let r = 0; r < size; r++) {
        const g = groups[r];
        if (color(r) === UNDEFINED_COLOR) {
          expect(g).toBeUndefined();
          continue;
        }
        const members = [...Array(size).keys()].filter((x) => color(x) === color(r)).reverse();
        expect(g).toEqual({ color: color(r), ranks: members, rank: members.indexOf(r) });
      }
      // Each group allreduces its members' old ranks, all groups at once, over the same world.
      const sums = await onAll(w, async (p) => {
        const g = groups[p.rank];
        if (g === undefined) return undefined;
        const v = Float64Array.of(p.rank);
        await allreduce(groupP2p(p, g, 1000 + 16 * g.color), v, 'sum');
        return v[0];
      });
      for (let r = 0; r < size; r++) {
        const g = groups[r];
        expect(sums[r]).toBe(g === undefined ? undefined : g.ranks.reduce((a, b) => a + b, 0));
      }
    });
  }

  it('rejects bad colors and keys before sending', async () => {
    const [p] = world(2).ranks;
    if (p === undefined) throw new Error('no rank');
    await expect(split(p, -5, 0)).rejects.toThrow(/split: color must be an integer in \[0, 2147483647\], got -5/);
    await expect(split(p, 0, 1.5)).rejects.toThrow(RangeError);
    expect(p.engine.postedCount).toBe(0);
  });
});
