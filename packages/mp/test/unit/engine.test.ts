// The engine above the transport (protocol choice, contexts, early
// messages, truncation, cancellation, failure policy), over an in-memory
// wire: eager frames are copied, rendezvous announcements are "read" by
// copying from the sender's buffer.
import { describe, expect, it } from 'vitest';

import { Engine, type Wire } from '../../src/engine.js';
import { MpError } from '../../src/errors.js';
import type { Announcement, Done } from '../../src/transport/peer.js';
import { ANY_SOURCE, ANY_TAG } from '../../src/types.js';

const EAGER = 16;

class FakeWire implements Wire {
  readonly eagerLimit = EAGER;
  readonly pending = new Map<number, { data: Uint8Array; done: Done }>();
  #nextId = 0;
  aborted: MpError | undefined;
  declined = 0;
  constructor(
    readonly rank: number,
    readonly net: { engines: Engine[]; wires: FakeWire[] },
  ) {}

  sendEager(dest: number, context: number, tag: number, data: Uint8Array, done: Done): void {
    const copy = data.slice();
    queueMicrotask(() => this.net.engines[dest]!.onEager(context, this.rank, tag, copy, 0, copy.length));
    done();
  }

  sendRendezvous(dest: number, context: number, tag: number, data: Uint8Array, done: Done): void {
    const id = this.#nextId++;
    this.pending.set(id, { data, done });
    const a: Announcement = { source: this.rank, id, address: 0n, rkey: 0, length: data.length };
    queueMicrotask(() => this.net.engines[dest]!.onRts(context, this.rank, tag, a));
  }

  fetch(a: Announcement, into: Uint8Array, done: Done): void {
    const sender = this.net.wires[a.source]!;
    const s = sender.pending.get(a.id)!;
    sender.pending.delete(a.id);
    into.set(s.data);
    queueMicrotask(() => {
      s.done();
      done();
    });
  }

  decline(a: Announcement): void {
    this.declined++;
    const sender = this.net.wires[a.source]!;
    const s = sender.pending.get(a.id);
    sender.pending.delete(a.id);
    s?.done();
  }

  abort(err: MpError): void {
    this.aborted = err;
    for (const s of this.pending.values()) s.done(err);
    this.pending.clear();
  }
}

function world(size: number): { engines: Engine[]; wires: FakeWire[] } {
  const net = { engines: [] as Engine[], wires: [] as FakeWire[] };
  for (let r = 0; r < size; r++) {
    const e = new Engine(r, size);
    const w = new FakeWire(r, net);
    e.attach(w);
    e.addContext(0, Array.from({ length: size }, (_, i) => i));
    net.engines.push(e);
    net.wires.push(w);
  }
  return net;
}

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

describe('Engine', () => {
  it('eager and rendezvous messages land intact; the status names source, tag and length', async () => {
    const { engines } = world(3);
    for (const n of [0, 1, EAGER, EAGER + 1, 1000]) {
      const into = new Uint8Array(2000);
      const [st] = await Promise.all([engines[0]!.recv(0, ANY_SOURCE, ANY_TAG, into, undefined), engines[2]!.send(0, 0, 9, bytes(n))]);
      expect(st).toMatchObject({ source: 2, tag: 9, length: n });
      expect(st.data).toEqual(bytes(n));
    }
  });

  it('a rendezvous message that arrives before its receive waits as unexpected, then is read', async () => {
    const { engines } = world(2);
    const sent = engines[1]!.send(0, 0, 4, bytes(100));
    await new Promise((resolve) => setTimeout(resolve, 1));
    const st = await engines[0]!.recv(0, 1, 4, new Uint8Array(100), undefined);
    await sent; // the sender completes only once the data was read
    expect(st.data).toEqual(bytes(100));
  });

  it('messages for a context this rank has not registered yet are kept and replayed in order', async () => {
    const { engines } = world(2);
    engines[1]!.addContext(7, [0, 1]);
    const sends = [engines[1]!.send(7, 0, 1, bytes(3, 1)), engines[1]!.send(7, 0, 1, bytes(30, 2))];
    await new Promise((resolve) => setTimeout(resolve, 1));
    engines[0]!.addContext(7, [0, 1]);
    const a = await engines[0]!.recv(7, 1, 1, new Uint8Array(64), undefined);
    const b = await engines[0]!.recv(7, 1, 1, new Uint8Array(64), undefined);
    await Promise.all(sends);
    expect([a.length, b.length]).toEqual([3, 30]);
    expect(b.data).toEqual(bytes(30, 2));
  });

  it('a sub-communicator context sees group ranks, and ANY_SOURCE only its members', async () => {
    const { engines } = world(4);
    for (const r of [1, 3]) engines[r]!.addContext(10, [3, 1]); // group rank 0 = world 3
    const got = engines[1]!.recv(10, ANY_SOURCE, ANY_TAG, new Uint8Array(8), undefined);
    await engines[3]!.send(10, 1, 5, bytes(4));
    expect(await got).toMatchObject({ source: 0, tag: 5, length: 4 });
  });

  it('too long for the buffer: ETRUNC with the real length; a declined rendezvous still completes its sender', async () => {
    const { engines, wires } = world(2);
    const eager = engines[0]!.recv(0, 1, 1, new Uint8Array(4), undefined);
    await engines[1]!.send(0, 0, 1, bytes(10));
    await expect(eager).rejects.toMatchObject({ code: 'ETRUNC', length: 10, capacity: 4, peer: 1, tag: 1 });
    const rndv = engines[0]!.recv(0, 1, 2, new Uint8Array(4), undefined);
    const sent = engines[1]!.send(0, 0, 2, bytes(500));
    await expect(rndv).rejects.toMatchObject({ code: 'ETRUNC', length: 500, capacity: 4 });
    await sent;
    expect(wires[0]!.declined).toBe(1);
  });

  it('an aborted signal cancels a waiting receive with ECANCELED; the message then goes to the next receive', async () => {
    const { engines } = world(2);
    const ac = new AbortController();
    const first = engines[0]!.recv(0, 1, 3, new Uint8Array(8), ac.signal);
    ac.abort();
    await expect(first).rejects.toMatchObject({ code: 'ECANCELED' });
    await engines[1]!.send(0, 0, 3, bytes(2));
    await expect(engines[0]!.recv(0, 1, 3, new Uint8Array(8), undefined)).resolves.toMatchObject({ length: 2 });
  });

  it('a failed connection fails the receives only that peer could satisfy', async () => {
    const { engines } = world(3);
    const fromOne = engines[0]!.recv(0, 1, 0, new Uint8Array(8), undefined);
    const fromAny = engines[0]!.recv(0, ANY_SOURCE, 0, new Uint8Array(8), undefined);
    engines[0]!.onPeerFailure(1, new MpError({ code: 'EPEERDEAD', peer: 1 }, 'rank 1 is unreachable'));
    await expect(fromOne).rejects.toMatchObject({ code: 'EPEERDEAD', peer: 1 });
    await engines[2]!.send(0, 0, 0, bytes(1));
    await expect(fromAny).resolves.toMatchObject({ source: 2 });
  });

  it('failAll (a rank died): pending receives and rendezvous sends fail, later operations too', async () => {
    const { engines, wires } = world(3);
    const recv = engines[0]!.recv(0, 2, 0, new Uint8Array(8), undefined);
    const send = engines[0]!.send(0, 1, 0, bytes(100)); // rendezvous: waits for rank 1 to read it
    const err = new MpError({ code: 'EPEERDEAD', peer: 2 }, 'rank 2 died');
    engines[0]!.failAll(err);
    await expect(recv).rejects.toBe(err);
    await expect(send).rejects.toBe(err);
    expect(wires[0]!.aborted).toBe(err);
    await expect(engines[0]!.recv(0, 1, 0, new Uint8Array(8), undefined)).rejects.toBe(err);
    await expect(engines[0]!.send(0, 1, 0, bytes(1))).rejects.toBe(err);
  });

  it('messages for a context this rank closed are dropped (a late rendezvous is released), not kept', async () => {
    const { engines, wires } = world(2);
    engines[0]!.removeContext(0);
    const late = engines[1]!.send(0, 0, 1, bytes(100)); // rendezvous: completes once rank 0 declines it
    await engines[1]!.send(0, 0, 1, bytes(3));
    await late;
    expect(wires[0]!.declined).toBe(1);
    for (const e of engines) e.addContext(5, [0, 1]); // a later context is unaffected
    const got = engines[0]!.recv(5, 1, 0, new Uint8Array(4), undefined);
    await engines[1]!.send(5, 0, 0, bytes(2));
    await expect(got).resolves.toMatchObject({ length: 2 });
  });

  it('removing a context fails its receives with ECLOSED and refuses new operations', async () => {
    const { engines } = world(2);
    const r = engines[0]!.recv(0, 1, 0, new Uint8Array(8), undefined);
    engines[0]!.removeContext(0);
    await expect(r).rejects.toMatchObject({ code: 'ECLOSED' });
    await expect(engines[0]!.send(0, 1, 0, bytes(1))).rejects.toMatchObject({ code: 'ECLOSED' });
  });
});
