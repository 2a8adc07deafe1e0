// barrier, bcast, allgather, gather, scatter and alltoall against the serial
// answer, for 1, 2, 3, 4, 5 and 8 ranks, every root, small and large
// buffers, eager and rendezvous.
import { describe, expect, it } from 'vitest';

import {
  BCAST_PIPELINE_MIN_BYTES,
  COLLECTIVE_TAG_SPAN,
  allgather,
  allreduce,
  alltoall,
  barrier,
  bcast,
  bcastBinomial,
  bcastPipelined,
  gather,
  offsetTags,
  scatter,
  type PointToPoint,
} from '../../src/index.js';
import { SIZES, onAll, world } from './collective-helpers.js';
import { Prng } from './prng.js';

function pattern(length: number, seed: number): Uint8Array {
  const rng = new Prng(seed);
  return Uint8Array.from({ length }, () => rng.int(256));
}

/** Rank r's block for a gather/allgather: distinct per rank. */
function block(rank: number, length: number): Uint8Array {
  return pattern(length, 500 + rank);
}

function concat(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

describe('barrier', () => {
  for (const size of SIZES) {
    it(`${size} rank(s): nobody leaves before the last one entered, three times in a row`, async () => {
      const w = world(size);
      const log: string[] = [];
      await onAll(w, async (p) => {
        for (let round = 0; round < 3; round++) {
          // Arrive staggered: the last rank much later than the others.
          for (let i = 0; i < (p.rank + 1) * 5; i++) await new Promise<void>((r) => setImmediate(r));
          log.push(`enter ${round} ${p.rank}`);
          await barrier(p);
          log.push(`leave ${round} ${p.rank}`);
        }
      });
      for (let round = 0; round < 3; round++) {
        const lastEnter = Math.max(...[...Array(size).keys()].map((r) => log.indexOf(`enter ${round} ${r}`)));
        const firstLeave = Math.min(...[...Array(size).keys()].map((r) => log.indexOf(`leave ${round} ${r}`)));
        expect(lastEnter).toBeGreaterThanOrEqual(0);
        expect(firstLeave).toBeGreaterThan(lastEnter);
      }
      // Dissemination: ceil(log2 size) empty messages per rank per barrier.
      expect(w.messagesSent).toBe(3 * size * Math.ceil(Math.log2(size)));
    });
  }
});

describe('bcast', () => {
  for (const size of SIZES) {
    it(`${size} rank(s): every root, 0 B to above the pipelining threshold, binomial and pipelined`, async () => {
      for (const length of [0, 1, 1000, BCAST_PIPELINE_MIN_BYTES + 1234]) {
        const roots = length <= 1000 ? [...Array(size).keys()] : [0, size - 1];
        for (const root of roots) {
          const want = pattern(length, length + root);
          const algorithms: [string, (p: PointToPoint, d: Uint8Array, root: number) => Promise<void>][] = [
            ['bcast', bcast],
            ['bcastBinomial', bcastBinomial],
            // Small segments so short buffers still pipeline (and end on a partial segment).
            ['bcastPipelined', (p, d, r) => bcastPipelined(p, d, r, length > 1000 ? 16 * 1024 : 7)],
          ];
          for (const [name, fn] of algorithms) {
            const bufs = Array.from({ length: size }, (_, r) => (r === root ? want.slice() : new Uint8Array(length)));
            await onAll(world(size), (p) => fn(p, bufs[p.rank] as Uint8Array, root));
            for (const b of bufs) expect(Buffer.from(b).equals(Buffer.from(want)), `${name} length ${length} root ${root}`).toBe(true);
          }
        }
      }
    });
  }

  it('pipelines large buffers in segments (message counts tell) and broadcasts typed arrays in place', async () => {
    const size = 5;
    const w = world(size);
    const length = BCAST_PIPELINE_MIN_BYTES; // two 64 KiB segments
    const data = Array.from({ length: size }, (_, r) => (r === 2 ? new Float64Array(length / 8).fill(Math.PI) : new Float64Array(length / 8)));
    await onAll(w, (p) => bcast(p, data[p.rank] as Float64Array, 2));
    for (const d of data) expect(d.every((x) => x === Math.PI)).toBe(true);
    // size - 1 forwards per segment.
    expect(w.messagesSent).toBe((size - 1) * 2);
  });

  it('everything rendezvous: still completes', async () => {
    const want = pattern(3000, 9);
    const bufs = Array.from({ length: 8 }, (_, r) => (r === 3 ? want.slice() : new Uint8Array(3000)));
    await onAll(world(8, { eagerLimit: -1 }), (p) => bcastPipelined(p, bufs[p.rank] as Uint8Array, 3, 500));
    for (const b of bufs) expect(Buffer.from(b).equals(Buffer.from(want))).toBe(true);
  });

  it('rejects bad arguments', async () => {
    const [p] = world(2).ranks;
    if (p === undefined) throw new Error('no rank');
    await expect(bcast(p, new Uint8Array(1), 2)).rejects.toThrow(RangeError);
    await expect(bcast(p, [1, 2] as never, 0)).rejects.toThrow(/bcast: data must be a typed array/);
    await expect(bcastPipelined(p, new Uint8Array(1), 0, 0)).rejects.toThrow(/segmentBytes/);
  });
});

describe('allgather', () => {
  for (const size of SIZES) {
    it(`${size} rank(s): blocks of 0, 1 and 13 bytes land in rank order on every rank; in place works`, async () => {
      for (const length of [0, 1, 13]) {
        const want = concat([...Array(size).keys()].map((r) => block(r, length)));
        const recv = Array.from({ length: size }, () => new Uint8Array(size * length));
        await onAll(world(size), (p) => allgather(p, block(p.rank, length), recv[p.rank] as Uint8Array));
        for (const r of recv) expect(Buffer.from(r).equals(want), `length ${length}`).toBe(true);
        // In place: send is this rank's own block of recv.
        const inPlace = Array.from({ length: size }, (_, r) => {
          const b = new Uint8Array(size * length);
          b.set(block(r, length), r * length);
          return b;
        });
        await onAll(world(size), (p) => {
          const all = inPlace[p.rank] as Uint8Array;
          return allgather(p, all.subarray(p.rank * length, (p.rank + 1) * length), all);
        });
        for (const r of inPlace) expect(Buffer.from(r).equals(want), `in place, length ${length}`).toBe(true);
      }
    });
  }

  it('gathers typed arrays and rejects a recv of the wrong size', async () => {
    const size = 3;
    const recv = Array.from({ length: size }, () => new Float64Array(2 * size));
    await onAll(world(size), (p) => allgather(p, Float64Array.of(p.rank, -p.rank), recv[p.rank] as Float64Array));
    for (const r of recv) expect([...r]).toEqual([0, -0, 1, -1, 2, -2]);
    const [p] = world(size).ranks;
    if (p === undefined) throw new Error('no rank');
    await expect(allgather(p, new Uint8Array(2), new Uint8Array(5))).rejects.toThrow(/recv must be size \* send.byteLength = 6 bytes, got 5/);
  });
});

describe('gather and scatter', () => {
  for (const size of SIZES) {
    it(`${size} rank(s): every root, blocks of 0 and 5 bytes (and 40 KiB), round trip`, async () => {
      for (const length of [0, 5, 40 * 1024]) {
        const roots = length < 1000 ? [...Array(size).keys()] : [size - 1];
        for (const root of roots) {
          const want = concat([...Array(size).keys()].map((r) => block(r, length)));
          const atRoot = new Uint8Array(size * length);
          await onAll(world(size), (p) => gather(p, block(p.rank, length), p.rank === root ? atRoot : undefined, root));
          expect(Buffer.from(atRoot).equals(want), `gather length ${length} root ${root}`).toBe(true);

          const mine = Array.from({ length: size }, () => new Uint8Array(length).fill(0xaa));
          await onAll(world(size), (p) => scatter(p, p.rank === root ? atRoot : undefined, mine[p.rank] as Uint8Array, root));
          for (let r = 0; r < size; r++) {
            expect(Buffer.from(mine[r] as Uint8Array).equals(Buffer.from(block(r, length))), `scatter length ${length} root ${root} rank ${r}`).toBe(true);
          }
        }
      }
    });
  }

  it('the root receives log2(size) messages, not size - 1 (binomial)', async () => {
    const size = 8;
    const w = world(size);
    await onAll(w, (p) => gather(p, Uint8Array.of(p.rank), p.rank === 3 ? new Uint8Array(size) : undefined, 3));
    // Every rank but the root sends exactly once: size - 1 messages, of which the root gets 3.
    expect(w.messagesSent).toBe(size - 1);
    expect(w.traces[3]?.filter((e) => e.op === 'arrive').length).toBe(3);
  });

  it('everything rendezvous: still completes', async () => {
    const size = 5;
    const atRoot = new Uint8Array(size * 4);
    await onAll(world(size, { eagerLimit: -1 }), (p) => gather(p, block(p.rank, 4), p.rank === 1 ? atRoot : undefined, 1));
    expect(Buffer.from(atRoot).equals(concat([...Array(size).keys()].map((r) => block(r, 4))))).toBe(true);
    const mine = Array.from({ length: size }, () => new Uint8Array(4));
    await onAll(world(size, { eagerLimit: -1 }), (p) => scatter(p, p.rank === 1 ? atRoot : undefined, mine[p.rank] as Uint8Array, 1));
    for (let r = 0; r < size; r++) expect([...(mine[r] as Uint8Array)]).toEqual([...block(r, 4)]);
  });

  it('rejects a missing or mis-sized root buffer', async () => {
    const [p] = world(2).ranks;
    if (p === undefined) throw new Error('no rank');
    await expect(gather(p, new Uint8Array(2), undefined, 0)).rejects.toThrow(/gather: recv must be a typed array/);
    await expect(gather(p, new Uint8Array(2), new Uint8Array(3), 0)).rejects.toThrow(/recv must be size \* send.byteLength = 4 bytes, got 3/);
    await expect(scatter(p, new Uint8Array(3), new Uint8Array(2), 0)).rejects.toThrow(/send must be size \* recv.byteLength = 4 bytes, got 3/);
    await expect(scatter(p, undefined, new Uint8Array(2), 0)).rejects.toThrow(TypeError);
  });
});

describe('alltoall', () => {
  for (const size of SIZES) {
    it(`${size} rank(s): block j of rank i lands as block i on rank j (0, 3 and 100 bytes)`, async () => {
      for (const length of [0, 3, 100]) {
        const send = Array.from({ length: size }, (_, i) => concat([...Array(size).keys()].map((j) => pattern(length, i * 100 + j))));
        const recv = Array.from({ length: size }, () => new Uint8Array(size * length));
        await onAll(world(size), (p) => alltoall(p, send[p.rank] as Uint8Array, recv[p.rank] as Uint8Array));
        for (let j = 0; j < size; j++) {
          const want = concat([...Array(size).keys()].map((i) => pattern(length, i * 100 + j)));
          expect(Buffer.from(recv[j] as Uint8Array).equals(want), `length ${length} rank ${j}`).toBe(true);
        }
      }
    });
  }

  it('everything rendezvous: still completes; bad lengths are rejected', async () => {
    const size = 4;
    const recv = Array.from({ length: size }, () => new Int32Array(size));
    await onAll(world(size, { eagerLimit: -1 }), (p) =>
      alltoall(p, Int32Array.from({ length: size }, (_, j) => p.rank * 10 + j), recv[p.rank] as Int32Array),
    );
    for (let j = 0; j < size; j++) expect([...(recv[j] as Int32Array)]).toEqual([0, 1, 2, 3].map((i) => i * 10 + j));
    const [p] = world(size).ranks;
    if (p === undefined) throw new Error('no rank');
    await expect(alltoall(p, new Uint8Array(6), new Uint8Array(6))).rejects.toThrow(/multiple of size 4/);
    await expect(alltoall(p, new Uint8Array(8), new Uint8Array(4))).rejects.toThrow(RangeError);
  });
});

describe('overlapping collectives', () => {
  it('calls in their own tag windows (offsetTags) may run at once', async () => {
    const size = 5;
    const sums = Array.from({ length: size }, (_, r) => Float64Array.of(r, 1));
    const bufs = Array.from({ length: size }, (_, r) => (r === 4 ? pattern(300, 1) : new Uint8Array(300)));
    await onAll(world(size), (p) =>
      Promise.all([
        allreduce(offsetTags(p, 0 * COLLECTIVE_TAG_SPAN), sums[p.rank] as Float64Array, 'sum'),
        bcastPipelined(offsetTags(p, 1 * COLLECTIVE_TAG_SPAN), bufs[p.rank] as Uint8Array, 4, 32),
        barrier(offsetTags(p, 2 * COLLECTIVE_TAG_SPAN)),
      ]),
    );
    for (const s of sums) expect([...s]).toEqual([10, 5]);
    for (const b of bufs) expect(Buffer.from(b).equals(Buffer.from(pattern(300, 1)))).toBe(true);
    expect(() => offsetTags(world(1).ranks[0] as never, -1)).toThrow(RangeError);
  });
});
