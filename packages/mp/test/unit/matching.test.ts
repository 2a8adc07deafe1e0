// The matching engine: targeted cases for each MPI rule, then 10,000 random
// messages among 4 ranks over the fake transport, checked against the
// straightforward reference model.
import { describe, expect, it } from 'vitest';

import { ANY_SOURCE, ANY_TAG, MatchingEngine, MpError, TAG_UB, truncationError, type PostedReceive, type UnexpectedMessage } from '../../src/index.js';
import { FakeWorld, type TraceEvent } from './fake-transport.js';
import { Prng } from './prng.js';
import { ReferenceMatcher } from './reference-matching.js';

type Engine = MatchingEngine<string, string>;

function asMessage(x: UnexpectedMessage<string> | PostedReceive<string>): UnexpectedMessage<string> {
  expect(x.kind).toBe('message');
  return x as UnexpectedMessage<string>;
}

function asPosted(x: UnexpectedMessage<string> | PostedReceive<string>): PostedReceive<string> {
  expect(x.kind).toBe('receive');
  return x as PostedReceive<string>;
}

describe('MatchingEngine rules', () => {
  it('an exact receive takes a waiting message with its envelope and payload', () => {
    const e: Engine = new MatchingEngine(4);
    expect(e.deliver(2, 7, 5, 'm1')).toBeUndefined();
    expect(e.unexpectedCount).toBe(1);
    expect(e.unexpectedBytes).toBe(5);
    const m = asMessage(e.postReceive(2, 7, 'r1'));
    expect({ source: m.source, tag: m.tag, length: m.length, payload: m.payload }).toEqual({ source: 2, tag: 7, length: 5, payload: 'm1' });
    expect(e.unexpectedCount).toBe(0);
    expect(e.unexpectedBytes).toBe(0);
    expect(e.postedCount).toBe(0);
  });

  it('a message goes to a waiting receive and is not queued', () => {
    const e: Engine = new MatchingEngine(4);
    const t = asPosted(e.postReceive(1, 3, 'r1'));
    expect(e.postedCount).toBe(1);
    expect(e.deliver(1, 4, 0, 'other-tag')).toBeUndefined();
    expect(e.deliver(2, 3, 0, 'other-source')).toBeUndefined();
    expect(e.deliver(1, 3, 9, 'm')).toBe(t);
    expect(e.postedCount).toBe(0);
    expect(e.unexpectedCount).toBe(2);
  });

  it('non-overtaking: one source and tag are received in arrival order, whatever the receive kind', () => {
    const e: Engine = new MatchingEngine(4);
    for (const p of ['a', 'b', 'c', 'd']) e.deliver(3, 1, 1, p);
    expect(asMessage(e.postReceive(3, 1, 'r')).payload).toBe('a');
    expect(asMessage(e.postReceive(ANY_SOURCE, 1, 'r')).payload).toBe('b');
    expect(asMessage(e.postReceive(3, ANY_TAG, 'r')).payload).toBe('c');
    expect(asMessage(e.postReceive(ANY_SOURCE, ANY_TAG, 'r')).payload).toBe('d');
  });

  it('two receives that fit one message: the earlier-posted one gets it', () => {
    const e: Engine = new MatchingEngine(4);
    const first = e.postReceive(0, 5, 'first');
    const second = e.postReceive(0, 5, 'second');
    expect(e.deliver(0, 5, 0, 'm1')).toBe(first);
    expect(e.deliver(0, 5, 0, 'm2')).toBe(second);
  });

  it('a wildcard posted before an exact receive wins, and the other way round', () => {
    const e: Engine = new MatchingEngine(4);
    const wild = e.postReceive(ANY_SOURCE, ANY_TAG, 'wild');
    const exact = e.postReceive(1, 5, 'exact');
    expect(e.deliver(1, 5, 0, 'm1')?.handle).toBe('wild');
    expect(e.deliver(1, 5, 0, 'm2')?.handle).toBe('exact');
    expect(wild.kind).toBe('receive');
    expect(exact.kind).toBe('receive');

    const f: Engine = new MatchingEngine(4);
    f.postReceive(1, 5, 'exact');
    f.postReceive(ANY_SOURCE, 5, 'any-source');
    f.postReceive(1, ANY_TAG, 'any-tag');
    expect(f.deliver(1, 5, 0, 'm1')?.handle).toBe('exact');
    expect(f.deliver(1, 5, 0, 'm2')?.handle).toBe('any-source');
    expect(f.deliver(1, 5, 0, 'm3')?.handle).toBe('any-tag');
  });

  it('an arriving message skips wildcards that do not fit it', () => {
    const e: Engine = new MatchingEngine(4);
    e.postReceive(2, ANY_TAG, 'from-2');
    e.postReceive(ANY_SOURCE, 9, 'tag-9');
    e.postReceive(ANY_SOURCE, ANY_TAG, 'any');
    expect(e.deliver(1, 8, 0, 'x')?.handle).toBe('any');
    expect(e.deliver(1, 9, 0, 'y')?.handle).toBe('tag-9');
    expect(e.deliver(2, 1, 0, 'z')?.handle).toBe('from-2');
    expect(e.postedCount).toBe(0);
  });

  it('wildcard receives take the earliest-arrived message that fits', () => {
    const e: Engine = new MatchingEngine(4);
    e.deliver(2, 1, 0, 'src2-tag1');
    e.deliver(1, 2, 0, 'src1-tag2');
    e.deliver(1, 1, 0, 'src1-tag1');
    e.deliver(3, 2, 0, 'src3-tag2');
    expect(asMessage(e.postReceive(1, ANY_TAG, 'r')).payload).toBe('src1-tag2');
    expect(asMessage(e.postReceive(ANY_SOURCE, 2, 'r')).payload).toBe('src3-tag2');
    expect(asMessage(e.postReceive(ANY_SOURCE, ANY_TAG, 'r')).payload).toBe('src2-tag1');
    expect(asMessage(e.postReceive(ANY_SOURCE, ANY_TAG, 'r')).payload).toBe('src1-tag1');
    expect(e.unexpectedCount).toBe(0);
    // Nothing left: the next receive waits.
    expect(e.postReceive(ANY_SOURCE, ANY_TAG, 'r').kind).toBe('receive');
  });

  it('probe reports the message a receive would take, without taking it', () => {
    const e: Engine = new MatchingEngine(4);
    expect(e.probe(ANY_SOURCE, ANY_TAG)).toBeUndefined();
    e.deliver(3, 4, 12, 'm');
    expect(e.probe(ANY_SOURCE, 4)).toEqual({ source: 3, tag: 4, length: 12 });
    expect(e.probe(3, 5)).toBeUndefined();
    expect(e.unexpectedCount).toBe(1);
    expect(asMessage(e.postReceive(3, 4, 'r')).payload).toBe('m');
  });

  it('cancel withdraws a waiting receive exactly once, and never a matched one', () => {
    const e: Engine = new MatchingEngine(4);
    const a = asPosted(e.postReceive(0, 1, 'a'));
    const b = asPosted(e.postReceive(ANY_SOURCE, 1, 'b'));
    const c = asPosted(e.postReceive(0, 1, 'c'));
    expect(e.cancel(a)).toBe(true);
    expect(e.cancel(a)).toBe(false);
    expect(e.cancel(b)).toBe(true);
    expect(e.postedCount).toBe(1);
    expect(e.deliver(0, 1, 0, 'm')).toBe(c);
    expect(e.cancel(c)).toBe(false);
    // With every receive gone the next message waits as unexpected.
    expect(e.deliver(0, 1, 0, 'm2')).toBeUndefined();
    expect(() => e.cancel({ kind: 'receive', source: 0, tag: 1, seq: 1, handle: 'fake' })).toThrow(TypeError);
    // A ticket of another engine is refused, and that engine's receive stays posted.
    const other: Engine = new MatchingEngine(4);
    const foreign = asPosted(other.postReceive(0, 1, 'x'));
    expect(() => e.cancel(foreign)).toThrow(/this engine's postReceive/);
    expect(other.postedCount).toBe(1);
  });

  it('zero-length messages match like any other and count no bytes', () => {
    const e: Engine = new MatchingEngine(2);
    e.deliver(1, 0, 0, 'empty');
    expect(e.unexpectedBytes).toBe(0);
    const m = asMessage(e.postReceive(1, 0, 'r'));
    expect(m.length).toBe(0);
    expect(truncationError(m.length, 0, m.source, m.tag)).toBeUndefined();
  });

  it('truncationError carries the real length and the capacity', () => {
    expect(truncationError(8, 8, 1, 2)).toBeUndefined();
    const err = truncationError(9, 8, 1, 2);
    expect(err).toBeInstanceOf(MpError);
    expect(err).toMatchObject({ code: 'ETRUNC', peer: 1, tag: 2, length: 9, capacity: 8 });
    expect(err?.message).toMatch(/ETRUNC: message from rank 1 with tag 2 is 9 bytes, the receive buffer holds 8/);
  });

  it('cancelFrom withdraws receives only that source can satisfy, in posting order', () => {
    const e: Engine = new MatchingEngine(4);
    e.postReceive(2, 1, 'a');
    e.postReceive(ANY_SOURCE, 1, 'any');
    e.postReceive(2, ANY_TAG, 'b');
    e.postReceive(1, 1, 'other');
    e.postReceive(2, 7, 'c');
    expect(e.cancelFrom(2)).toEqual(['a', 'b', 'c']);
    expect(e.postedCount).toBe(2);
    expect(e.deliver(2, 1, 0, 'm')?.handle).toBe('any');
  });

  it('close drains both queues once and refuses further use', () => {
    const e: Engine = new MatchingEngine(4);
    const t = asPosted(e.postReceive(1, 1, 'r1'));
    e.postReceive(ANY_SOURCE, 2, 'r2');
    e.deliver(3, 3, 4, 'm1');
    e.deliver(0, 3, 4, 'm2');
    expect(e.close()).toEqual({ receives: ['r1', 'r2'], messages: ['m1', 'm2'] });
    expect(e.closed).toBe(true);
    expect(e.close()).toEqual({ receives: [], messages: [] });
    expect(e.postedCount + e.unexpectedCount + e.unexpectedBytes).toBe(0);
    expect(e.cancel(t)).toBe(false);
    expect(() => e.postReceive(1, 1, 'x')).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    expect(() => e.deliver(1, 1, 0, 'x')).toThrow(MpError);
    expect(() => e.probe(1, 1)).toThrow(/ECLOSED/);
  });

  it('rejects bad arguments with TypeError / RangeError', () => {
    const e: Engine = new MatchingEngine(4);
    expect(() => new MatchingEngine(0)).toThrow(RangeError);
    expect(() => new MatchingEngine(1.5)).toThrow(RangeError);
    expect(() => e.postReceive(4, 0, 'r')).toThrow(/postReceive: source must be an integer in \[0, 3\], got 4/);
    expect(() => e.postReceive(-2, 0, 'r')).toThrow(RangeError);
    expect(() => e.postReceive(0, TAG_UB + 1, 'r')).toThrow(RangeError);
    expect(() => e.postReceive('0' as unknown as number, 0, 'r')).toThrow(TypeError);
    expect(() => e.deliver(ANY_SOURCE, 0, 0, 'm')).toThrow(RangeError);
    expect(() => e.deliver(0, ANY_TAG, 0, 'm')).toThrow(RangeError);
    expect(() => e.deliver(0, 0, -1, 'm')).toThrow(RangeError);
    expect(e.postedCount + e.unexpectedCount).toBe(0);
  });

  it('stays correct when thousands of one-off tags empty their buckets (sweeps)', () => {
    const e = new MatchingEngine<number, number>(3);
    // Tags used once each, as a per-iteration tag would be: buckets empty and get swept.
    for (let i = 0; i < 5000; i++) {
      const tag = 100 + i;
      if (i % 2 === 0) {
        expect(e.deliver(1, tag, 0, i)).toBeUndefined();
        expect((e.postReceive(1, tag, i) as UnexpectedMessage<number>).payload).toBe(i);
      } else {
        const t = e.postReceive(2, tag, i);
        expect(e.deliver(2, tag, 0, i)).toBe(t);
      }
      // A long-lived bucket keeps working across sweeps.
      if (i % 1000 === 0) e.deliver(0, 1, 0, i);
    }
    expect(e.postedCount).toBe(0);
    expect(e.unexpectedCount).toBe(5);
    for (const want of [0, 1000, 2000, 3000, 4000]) expect((e.postReceive(0, 1, -1) as UnexpectedMessage<number>).payload).toBe(want);
  });
});

/**
 * Runs `total` random messages among 4 ranks over the fake transport: random
 * destinations, tags (0..4) and lengths, as many receives as messages
 * (exact ones and every kind of wildcard, 3 % cancelled after a few hops),
 * sends and receives interleaved at random. Everything follows the seed.
 */
async function randomRun(seed: number, eagerLimit: number, total: number) {
  const ranks = 4;
  const rng = new Prng(seed);
  const world = new FakeWorld(ranks, { seed: seed + 1, eagerLimit, maxHops: 4 });
  const tags = 5;

  // Sends: random destination, tag and length (4..12 bytes, the first 4 the message id).
  type Send = { kind: 'send'; dest: number; tag: number; length: number };
  type Recv = { kind: 'recv'; source: number; tag: number; cancelAfter: number | undefined };
  const scripts: (Send | Recv)[][] = Array.from({ length: ranks }, () => []);
  const toMe: { source: number; tag: number }[][] = Array.from({ length: ranks }, () => []);
  for (let i = 0; i < total; i++) {
    const source = i % ranks;
    const dest = rng.int(ranks);
    const tag = rng.int(tags);
    scripts[source]?.push({ kind: 'send', dest, tag, length: 4 + rng.int(9) });
    toMe[dest]?.push({ source, tag });
  }
  // As many receives as messages: exact ones for a real message, and every kind of wildcard; a few get cancelled.
  for (let r = 0; r < ranks; r++) {
    for (const m of toMe[r] ?? []) {
      const kind = rng.next();
      const source = kind < 0.45 || (kind >= 0.65 && kind < 0.8) ? m.source : ANY_SOURCE;
      const tag = kind < 0.65 ? m.tag : ANY_TAG;
      scripts[r]?.push({ kind: 'recv', source, tag, cancelAfter: rng.chance(0.03) ? rng.int(4) : undefined });
    }
    // Interleave sends and receives at random (ids are given at send time, so they follow each rank's program order).
    const ops = scripts[r] ?? [];
    for (let i = ops.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [ops[i], ops[j]] = [ops[j] as Send | Recv, ops[i] as Send | Recv];
    }
  }

  const receives = new Map<number, Promise<{ status: { source: number; tag: number; length: number }; into: Uint8Array } | 'cancelled'>>();
  const sentBy = new Map<number, { source: number; dest: number; tag: number; length: number }>();
  await Promise.all(
    scripts.map(async (ops, r) => {
      const me = world.ranks[r];
      if (me === undefined) throw new Error('no rank');
      for (const op of ops) {
        if (rng.chance(0.3)) await new Promise<void>((res) => (rng.chance(0.5) ? setImmediate(res) : queueMicrotask(res)));
        if (op.kind === 'send') {
          const data = new Uint8Array(op.length);
          const id = world.messagesSent;
          new DataView(data.buffer).setUint32(0, id, true);
          const s = me.isend(op.dest, op.tag, data);
          expect(s.id).toBe(id);
          s.done.catch(() => {});
          sentBy.set(id, { source: r, dest: op.dest, tag: op.tag, length: op.length });
        } else {
          const into = new Uint8Array(12);
          const ac = op.cancelAfter === undefined ? undefined : new AbortController();
          const q = me.irecv(op.source, op.tag, into, ac?.signal);
          receives.set(
            q.id,
            q.done.then(
              (status) => ({ status, into }),
              (err: MpError) => {
                expect(err.code).toBe('ECANCELED');
                return 'cancelled' as const;
              },
            ),
          );
          if (ac !== undefined) {
            const hops = op.cancelAfter ?? 0;
            void (async () => {
              for (let i = 0; i < hops; i++) await new Promise<void>((res) => setImmediate(res));
              ac.abort();
            })();
          }
        }
      }
    }),
  );
  await world.quiesce();
  for (let i = 0; i < 8; i++) await new Promise<void>((res) => setImmediate(res)); // late cancels
  return { world, receives, sentBy };
}

describe('matching over the fake transport', () => {
  it('a receive too small for its message rejects ETRUNC with the real length, and leaves the buffer alone', async () => {
    const world = new FakeWorld(2, { seed: 3 });
    const [a, b] = world.ranks as [NonNullable<(typeof world.ranks)[0]>, NonNullable<(typeof world.ranks)[0]>];
    const small = new Uint8Array(4).fill(0xee);
    const pending = b.irecv(0, 9, small).done;
    await a.send(1, 9, new Uint8Array(10).fill(1));
    await expect(pending).rejects.toMatchObject({ code: 'ETRUNC', peer: 0, tag: 9, length: 10, capacity: 4 });
    expect([...small]).toEqual([0xee, 0xee, 0xee, 0xee]);
    // The oversized message was consumed; the next one is received normally.
    await a.send(1, 9, Uint8Array.of(5, 6));
    const into = new Uint8Array(4);
    await expect(b.irecv(0, 9, into).done).resolves.toEqual({ source: 0, tag: 9, length: 2 });
    expect([...into.subarray(0, 2)]).toEqual([5, 6]);
  });

  it('rendezvous: the send completes only once a receive matched it, zero-length included', async () => {
    const world = new FakeWorld(2, { seed: 4, eagerLimit: 0 });
    const [a, b] = world.ranks as [NonNullable<(typeof world.ranks)[0]>, NonNullable<(typeof world.ranks)[0]>];
    let sent = false;
    const s = a.send(1, 1, Uint8Array.of(1, 2, 3)).then(() => (sent = true));
    await world.quiesce();
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(false);
    expect(b.engine.unexpectedCount).toBe(1);
    const into = new Uint8Array(3);
    expect(await b.recv(0, 1, into)).toBe(3);
    await s;
    expect(sent).toBe(true);
    expect([...into]).toEqual([1, 2, 3]);
    // Zero bytes: eager (0 <= eagerLimit), received into an empty buffer.
    const z = b.recv(0, 2, new Uint8Array(0));
    await a.send(1, 2, new Uint8Array(0));
    expect(await z).toBe(0);
  });

  it('an AbortSignal cancels a waiting receive (ECANCELED) but not a matched one', async () => {
    const world = new FakeWorld(2, { seed: 5 });
    const [a, b] = world.ranks as [NonNullable<(typeof world.ranks)[0]>, NonNullable<(typeof world.ranks)[0]>];
    const ac = new AbortController();
    const r = b.irecv(0, 1, new Uint8Array(1), ac.signal).done;
    ac.abort();
    await expect(r).rejects.toMatchObject({ code: 'ECANCELED' });
    expect(b.engine.postedCount).toBe(0);
    await expect(b.irecv(0, 1, new Uint8Array(1), AbortSignal.abort()).done).rejects.toMatchObject({ code: 'ECANCELED' });
    // The message sent afterwards is not lost to the cancelled receive.
    const ac2 = new AbortController();
    const into = new Uint8Array(1);
    const r2 = b.irecv(0, 1, into, ac2.signal).done;
    await a.send(1, 1, Uint8Array.of(42));
    await expect(r2).resolves.toEqual({ source: 0, tag: 1, length: 1 });
    ac2.abort();
    expect(into[0]).toBe(42);
  });

  for (const { seed, eagerLimit } of [
    { seed: 20261202, eagerLimit: Infinity },
    { seed: 7, eagerLimit: 8 },
  ]) {
    it(`10,000 random messages among 4 ranks pair exactly as MPI's rules say (seed ${seed}, eager <= ${eagerLimit} B)`, async () => {
      const ranks = 4;
      const total = 10_000;
      const { world, receives, sentBy } = await randomRun(seed, eagerLimit, total);

      // 1. Replay what each engine saw through the reference model: every answer must be the same.
      const pairs = new Map<number, number>(); // recv id -> msg id
      let cancelled = 0;
      for (let r = 0; r < ranks; r++) {
        const ref = new ReferenceMatcher();
        const trace = world.traces[r] as TraceEvent[];
        const engineAnswers: unknown[] = [];
        const refAnswers: unknown[] = [];
        for (const ev of trace) {
          if (ev.op === 'post') {
            engineAnswers.push(ev.matched);
            refAnswers.push(ref.post(ev.recv, ev.source, ev.tag));
            if (ev.matched !== undefined) pairs.set(ev.recv, ev.matched);
          } else if (ev.op === 'arrive') {
            engineAnswers.push(ev.matched);
            refAnswers.push(ref.arrive(ev.msg, ev.source, ev.tag));
            if (ev.matched !== undefined) pairs.set(ev.matched, ev.msg);
          } else {
            engineAnswers.push(ev.removed);
            refAnswers.push(ref.cancel(ev.recv));
            if (ev.removed) cancelled++;
          }
        }
        expect(engineAnswers).toEqual(refAnswers);
        // What is left waiting is the same too.
        const me = world.ranks[r];
        expect(me?.engine.postedCount).toBe(ref.posted.length);
        expect(me?.engine.unexpectedCount).toBe(ref.unexpected.length);
      }

      // 2. The run really exercised matching: nearly every message was received, wildcards included.
      expect(sentBy.size).toBe(total);
      expect(pairs.size).toBeGreaterThan(total * 0.85);
      expect(cancelled).toBeGreaterThan(30);

      // 3. Every completed receive got its message's bytes and envelope; every other one was cancelled or still waits.
      let delivered = 0;
      for (const [recvId, msgId] of pairs) {
        const got = await receives.get(recvId);
        if (got === undefined || got === 'cancelled') throw new Error(`receive ${recvId} matched but did not complete`);
        const sent = sentBy.get(msgId);
        expect(got.status).toEqual({ source: sent?.source, tag: sent?.tag, length: sent?.length });
        expect(new DataView(got.into.buffer).getUint32(0, true)).toBe(msgId);
        delivered++;
      }
      expect(delivered).toBe(pairs.size);

      // 4. Non-overtaking, checked directly: per (source, dest, tag), messages are matched in send order.
      const lastMatched = new Map<string, number>();
      for (let r = 0; r < ranks; r++) {
        for (const ev of world.traces[r] as TraceEvent[]) {
          const msg = ev.op === 'post' ? ev.matched : ev.op === 'arrive' && ev.matched !== undefined ? ev.msg : undefined;
          if (msg === undefined) continue;
          const s = sentBy.get(msg);
          const key = `${s?.source}>${r}#${s?.tag}`;
          expect(msg).toBeGreaterThan(lastMatched.get(key) ?? -1);
          lastMatched.set(key, msg);
        }
      }

      // 5. Leftovers are what close() hands back: receives neither matched nor cancelled, messages never received.
      let leftReceives = 0;
      let leftMessages = 0;
      for (const rank of world.ranks) {
        const left = rank.engine.close();
        leftReceives += left.receives.length;
        leftMessages += left.messages.length;
      }
      expect(leftReceives).toBe(total - pairs.size - cancelled);
      expect(leftMessages).toBe(total - pairs.size);
    });
  }

  it('the random run is reproducible: one seed, one history', async () => {
    const a = await randomRun(99, 8, 1000);
    const b = await randomRun(99, 8, 1000);
    expect(a.world.traces.flat().length).toBeGreaterThan(2000);
    expect(b.world.traces).toEqual(a.world.traces);
    const c = await randomRun(100, 8, 1000);
    expect(c.world.traces).not.toEqual(a.world.traces);
  });
});
