// reduce and allreduce against the serial computation, for 1, 2, 3, 4, 5 and
// 8 ranks, every operator and array type, vectors below and above the
// recursive-doubling / ring threshold, every root.
import { describe, expect, it } from 'vitest';

import {
  ALLREDUCE_RING_MIN_BYTES,
  REDUCE_OPS,
  allreduce,
  allreduceRecursiveDoubling,
  allreduceRing,
  reduce,
  type ReducibleArray,
} from '../../src/index.js';
import { BYTES_PER, KINDS, SIZES, bytes, expectReduced, input, onAll, serial, world } from './collective-helpers.js';

describe('allreduce', () => {
  for (const size of SIZES) {
    it(`${size} rank(s): every op and type, small (recursive doubling) and large (ring) vectors, bit-identical on all ranks`, async () => {
      for (const kind of KINDS) {
        const large = ALLREDUCE_RING_MIN_BYTES / BYTES_PER[kind] + 3; // crosses the threshold, not a multiple of size
        for (const length of [1, 7, large]) {
          for (const op of REDUCE_OPS) {
            const inputs = Array.from({ length: size }, (_, r) => input(kind, length, r, length));
            const want = serial(op, inputs);
            const data = inputs.map((a) => a.slice() as ReducibleArray);
            await onAll(world(size), (p) => allreduce(p, data[p.rank] as ReducibleArray, op));
            const what = `${kind} ${op} length ${length}`;
            for (const d of data) {
              expectReduced(d, want, op, what);
              // Every rank holds exactly the same bits.
              expect(bytes(d).equals(bytes(data[0] as ReducibleArray)), what).toBe(true);
            }
          }
        }
      }
    });
  }

  it('both algorithms handle any length, including fewer elements than ranks and empty vectors', async () => {
    for (const algorithm of [allreduceRecursiveDoubling, allreduceRing]) {
      for (const size of [3, 5, 8]) {
        for (const length of [0, 1, size - 1, size, size + 1, 37]) {
          const inputs = Array.from({ length: size }, (_, r) => input('Int32', length, r, 3));
          const want = serial('sum', inputs);
          const data = inputs.map((a) => a.slice() as ReducibleArray);
          await onAll(world(size), (p) => algorithm(p, data[p.rank] as ReducibleArray, 'sum'));
          for (const d of data) expectReduced(d, want, 'sum', `${algorithm.name} size ${size} length ${length}`);
        }
      }
    }
  });

  it('switches from recursive doubling to the ring at ALLREDUCE_RING_MIN_BYTES (message counts tell)', async () => {
    const count = async (size: number, length: number): Promise<number> => {
      const w = world(size);
      await onAll(w, (p) => allreduce(p, new Float64Array(length).fill(1), 'sum'));
      return w.messagesSent;
    };
    const below = ALLREDUCE_RING_MIN_BYTES / 8 - 1;
    const at = ALLREDUCE_RING_MIN_BYTES / 8;
    // Recursive doubling: log2(4) = 2 exchanges per rank; for 7 ranks the 3 folded pairs add 2 messages each.
    expect(await count(4, below)).toBe(4 * 2);
    expect(await count(7, below)).toBe(4 * 2 + 3 * 2);
    // Ring: 2 (size - 1) sends per rank.
    expect(await count(4, at)).toBe(4 * 2 * 3);
    expect(await count(7, at)).toBe(7 * 2 * 6);
    // Fewer elements than ranks stays on recursive doubling whatever the bytes.
    expect(await count(2, 1)).toBe(2);
  });

  it('never relies on buffered sends: everything rendezvous still completes', async () => {
    for (const size of [2, 3, 5, 8]) {
      for (const length of [5, ALLREDUCE_RING_MIN_BYTES / 8]) {
        const inputs = Array.from({ length: size }, (_, r) => input('Float64', length, r));
        const data = inputs.map((a) => a.slice() as ReducibleArray);
        await onAll(world(size, { eagerLimit: -1 }), (p) => allreduce(p, data[p.rank] as ReducibleArray, 'max'));
        for (const d of data) expectReduced(d, serial('max', inputs), 'max', `size ${size} length ${length}`);
      }
    }
  });

  it('ranks that pass different lengths get an error, not a wrong answer', async () => {
    const w = world(2);
    const results = await Promise.allSettled(w.ranks.map((p) => allreduce(p, new Float64Array(p.rank === 0 ? 4 : 3), 'sum')));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'EINVAL', peer: 1, length: 24, capacity: 32 });
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ETRUNC', peer: 0, length: 32, capacity: 24 });
  });

  it('rejects bad arguments before sending anything', async () => {
    const [p] = world(2).ranks;
    if (p === undefined) throw new Error('no rank');
    await expect(allreduce(p, new Uint8Array(4) as never, 'sum')).rejects.toThrow(TypeError);
    await expect(allreduce(p, new Float64Array(4), 'mean' as never)).rejects.toThrow(/op must be one of/);
    await expect(allreduce({ rank: 2, size: 2 } as never, new Float64Array(1), 'sum')).rejects.toThrow(/p2p must be a PointToPoint/);
    expect(p.engine.postedCount + p.engine.unexpectedCount).toBe(0);
  });
});

describe('reduce', () => {
  for (const size of SIZES) {
    it(`${size} rank(s): every op and type, every root, small and large vectors; non-roots keep their input`, async () => {
      for (const kind of KINDS) {
        for (const length of [3, ALLREDUCE_RING_MIN_BYTES / BYTES_PER[kind]]) {
          for (const op of REDUCE_OPS) {
            // All roots for the small vector, two for the large one (time).
            const roots = length < 10 ? [...Array(size).keys()] : [0, size - 1];
            for (const root of roots) {
              const inputs = Array.from({ length: size }, (_, r) => input(kind, length, r, root + 1));
              const data = inputs.map((a) => a.slice() as ReducibleArray);
              await onAll(world(size), (p) => reduce(p, data[p.rank] as ReducibleArray, op, root));
              const what = `${kind} ${op} root ${root} length ${length}`;
              expectReduced(data[root] as ReducibleArray, serial(op, inputs), op, what);
              for (let r = 0; r < size; r++) {
                if (r !== root) expect(bytes(data[r] as ReducibleArray).equals(bytes(inputs[r] as ReducibleArray)), what).toBe(true);
              }
            }
          }
        }
      }
    });
  }

  it('rejects a root outside the communicator', async () => {
    const [p] = world(3).ranks;
    if (p === undefined) throw new Error('no rank');
    await expect(reduce(p, new Int32Array(1), 'sum', 3)).rejects.toThrow(/reduce: root must be an integer in \[0, 2\], got 3/);
  });
});
