// An in-memory transport for N ranks in one process, driving the real
// MatchingEngine the way the verbs transport will:
// - a send hands its message to a per-(source, destination) channel that
//   delivers in order, after a seeded random number of event-loop hops
//   (setImmediate or microtask), so channels interleave differently per seed
//   but each one stays FIFO, as an RC queue pair does;
// - at the destination, delivery calls engine.deliver(); a recv calls
//   engine.postReceive(); whichever finds its partner completes the receive;
// - messages up to `eagerLimit` bytes are eager (copied at send time, send
//   resolves at once); longer ones are rendezvous: the engine holds an
//   announcement, the data is copied from the sender's buffer only when a
//   receive matches, and only then does the send resolve. So collectives that
//   relied on buffering would deadlock here, as they would on RDMA.
import { MatchingEngine, MpError, truncationError, type PointToPoint, type PostedReceive, type Status } from '../../src/index.js';
import { Prng } from './prng.js';

export interface FakeOptions {
  /** Seeds the delivery delays. */
  seed?: number;
  /** Largest eager message in bytes; longer ones go rendezvous. Default: everything eager. */
  eagerLimit?: number;
  /** Most event-loop hops before a channel delivers its next message (default 3). */
  maxHops?: number;
}

/** What the engine stores per unexpected message. */
interface Payload {
  id: number;
  /** Eager: a private copy. Rendezvous: the sender's own buffer. */
  data: Uint8Array;
  /** Rendezvous only: completes the sender's send. */
  release?: () => void;
}

/** What the engine stores per posted receive. */
interface RecvRequest {
  id: number;
  into: Uint8Array;
  resolve: (status: Status) => void;
  reject: (err: Error) => void;
}

/** Inputs each engine saw, in order, and what it answered (for the reference-model test). */
export type TraceEvent =
  | { op: 'post'; recv: number; source: number; tag: number; matched: number | undefined }
  | { op: 'arrive'; msg: number; source: number; tag: number; matched: number | undefined }
  | { op: 'cancel'; recv: number; removed: boolean };

interface Queued {
  tag: number;
  payload: Payload;
}

class Channel {
  readonly queue: Queued[] = [];
  head = 0;
  running = false;
}

export class FakeWorld {
  readonly size: number;
  readonly ranks: FakeRank[];
  /** Per rank: every engine input in order. */
  readonly traces: TraceEvent[][];
  readonly #rng: Prng;
  readonly #eagerLimit: number;
  readonly #maxHops: number;
  readonly #channels: Channel[];
  #nextMsg = 0;
  #nextRecv = 0;
  #inFlight = 0;

  constructor(size: number, options: FakeOptions = {}) {
    this.size = size;
    this.#rng = new Prng(options.seed ?? 1);
    this.#eagerLimit = options.eagerLimit ?? Infinity;
    this.#maxHops = options.maxHops ?? 3;
    this.#channels = Array.from({ length: size * size }, () => new Channel());
    this.traces = Array.from({ length: size }, () => []);
    this.ranks = Array.from({ length: size }, (_, r) => new FakeRank(this, r));
  }

  /** Resolves once no message is in flight on any channel. */
  async quiesce(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((r) => setImmediate(r));
  }

  /** The id the next send will get. */
  get messagesSent(): number {
    return this.#nextMsg;
  }

  /** @internal of the fake: called by FakeRank. */
  send(source: number, dest: number, tag: number, data: Uint8Array): { id: number; done: Promise<void> } {
    const id = this.#nextMsg++;
    let done: Promise<void>;
    let payload: Payload;
    if (data.length <= this.#eagerLimit) {
      payload = { id, data: data.slice() };
      done = Promise.resolve();
    } else {
      let release!: () => void;
      done = new Promise<void>((resolve) => (release = resolve));
      payload = { id, data, release };
    }
    const ch = this.#channels[source * this.size + dest] as Channel;
    ch.queue.push({ tag, payload });
    this.#inFlight++;
    if (!ch.running) void this.#pump(ch, source, dest);
    return { id, done };
  }

  /** @internal of the fake */
  nextRecvId(): number {
    return this.#nextRecv++;
  }

  async #hop(): Promise<void> {
    if (this.#rng.chance(0.5)) await new Promise<void>((r) => setImmediate(r));
    else await Promise.resolve();
  }

  async #pump(ch: Channel, source: number, dest: number): Promise<void> {
    ch.running = true;
    while (ch.head < ch.queue.length) {
      const hops = this.#rng.int(this.#maxHops + 1);
      for (let i = 0; i < hops; i++) await this.#hop();
      const m = ch.queue[ch.head] as Queued;
      ch.queue[ch.head++] = undefined as unknown as Queued; // let the payload go
      this.#inFlight--;
      (this.ranks[dest] as FakeRank).arrive(source, m.tag, m.payload);
    }
    ch.queue.length = 0;
    ch.head = 0;
    ch.running = false;
  }
}

export class FakeRank implements PointToPoint {
  readonly rank: number;
  readonly size: number;
  readonly engine: MatchingEngine<Payload, RecvRequest>;
  readonly #world: FakeWorld;
  readonly #trace: TraceEvent[];

  constructor(world: FakeWorld, rank: number) {
    this.#world = world;
    this.rank = rank;
    this.size = world.size;
    this.engine = new MatchingEngine(world.size);
    this.#trace = world.traces[rank] as TraceEvent[];
  }

  async send(dest: number, tag: number, data: Uint8Array): Promise<void> {
    await this.isend(dest, tag, data).done;
  }

  /** Like send, but also tells the message's id (for tests that follow messages). */
  isend(dest: number, tag: number, data: Uint8Array): { id: number; done: Promise<void> } {
    if (!Number.isInteger(dest) || dest < 0 || dest >= this.size) throw new RangeError(`send: bad dest ${dest}`);
    return this.#world.send(this.rank, dest, tag, data);
  }

  async recv(source: number, tag: number, into: Uint8Array): Promise<number> {
    return (await this.irecv(source, tag, into).done).length;
  }

  /** A receive that can be cancelled; resolves with the status, rejects ETRUNC / ECANCELED. */
  irecv(source: number, tag: number, into: Uint8Array, signal?: AbortSignal): { id: number; done: Promise<Status> } {
    const id = this.#world.nextRecvId();
    let resolve!: (s: Status) => void;
    let reject!: (e: Error) => void;
    const done = new Promise<Status>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    if (signal?.aborted) {
      reject(new MpError({ code: 'ECANCELED' }, 'receive aborted before it was posted'));
      return { id, done };
    }
    const req: RecvRequest = { id, into, resolve, reject };
    const got = this.engine.postReceive(source, tag, req);
    if (got.kind === 'message') {
      this.#trace.push({ op: 'post', recv: id, source, tag, matched: got.payload.id });
      this.#complete(req, got.source, got.tag, got.payload);
    } else {
      this.#trace.push({ op: 'post', recv: id, source, tag, matched: undefined });
      signal?.addEventListener('abort', () => this.cancel(got), { once: true });
    }
    return { id, done };
  }

  /** Withdraws a posted receive; true when it was still waiting (and is now rejected ECANCELED). */
  cancel(ticket: PostedReceive<RecvRequest>): boolean {
    const removed = this.engine.cancel(ticket);
    this.#trace.push({ op: 'cancel', recv: ticket.handle.id, removed });
    if (removed) ticket.handle.reject(new MpError({ code: 'ECANCELED', tag: ticket.tag }, 'receive cancelled'));
    return removed;
  }

  /** Called by the world's channel pump, in per-source order. */
  arrive(source: number, tag: number, payload: Payload): void {
    const r = this.engine.deliver(source, tag, payload.data.length, payload);
    this.#trace.push({ op: 'arrive', msg: payload.id, source, tag, matched: r?.handle.id });
    if (r !== undefined) this.#complete(r.handle, source, tag, payload);
  }

  #complete(req: RecvRequest, source: number, tag: number, payload: Payload): void {
    const length = payload.data.length;
    const err = truncationError(length, req.into.length, source, tag);
    if (err === undefined) req.into.set(payload.data);
    // A rendezvous sender is released either way: the message was matched (MPI: the error is the receiver's).
    payload.release?.();
    if (err !== undefined) req.reject(err);
    else req.resolve({ source, tag, length });
  }
}
