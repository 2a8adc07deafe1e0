/**
 * Communicators: a group of ranks with their own message space, MPI-style.
 * `init()` returns the world communicator; {@link Communicator.split} makes
 * sub-communicators, which share the world's connections.
 *
 * Every communicator owns two contexts of the engine: one for user
 * messages, one for its collectives, so no user receive (not even
 * `ANY_SOURCE`/`ANY_TAG`) can take a collective's message.
 * @module
 */
import * as check from './check.js';
import { allgather } from './collectives/allgather.js';
import { allreduce } from './collectives/allreduce.js';
import { alltoall } from './collectives/alltoall.js';
import { barrier } from './collectives/barrier.js';
import { bcast } from './collectives/bcast.js';
import { gather } from './collectives/gather.js';
import { COLLECTIVE_TAG_SPAN, offsetTags, type PointToPoint } from './collectives/p2p.js';
import { reduce } from './collectives/reduce.js';
import { scatter } from './collectives/scatter.js';
import { split } from './collectives/split.js';
import type { Engine } from './engine.js';
import { ANY_SOURCE, ANY_TAG, type Rank, type Received, type ReduceOp, type ReducibleArray, type Tag } from './types.js';

/** Options of {@link Communicator.recv}. */
export interface RecvOptions {
  /** Whose message: a rank, or `ANY_SOURCE` (default). */
  source?: Rank;
  /** Which tag: a tag, or `ANY_TAG` (default). */
  tag?: Tag;
  /** Where the message goes; a longer message is an `'ETRUNC'` error, never cut. */
  into: ArrayBufferView;
  /** Cancels the receive while it has not matched (rejects with `'ECANCELED'`). */
  signal?: AbortSignal;
}

/** What closes a world communicator's resources (the transport, the rendezvous session). */
export interface WorldResources {
  close(): Promise<void>;
}

/** Collective calls in flight get tag windows `k mod 2^20`: tags stay below 2^24. */
const COLLECTIVE_WINDOWS = 1 << 20;

/**
 * A group of ranks that exchange tagged messages and run collectives.
 *
 * Point-to-point follows MPI's matching rules: a receive takes the
 * earliest message that fits its source and tag, messages from one sender
 * with one tag arrive in the order sent. Bad arguments throw `TypeError` /
 * `RangeError` at once; failures reject with {@link MpError}.
 */
export class Communicator implements AsyncDisposable {
  /** This process's rank in the communicator. */
  readonly rank: Rank;
  /** Number of ranks. */
  readonly size: number;
  readonly #engine: Engine;
  readonly #context: number;
  readonly #group: readonly number[];
  readonly #world: WorldResources | undefined;
  readonly #coll: PointToPoint;
  #calls = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** @internal Use `init()` or {@link split}. */
  constructor(engine: Engine, context: number, group: readonly number[], rank: number, world: WorldResources | undefined) {
    this.#engine = engine;
    this.#context = context;
    this.#group = group;
    this.rank = rank;
    this.size = group.length;
    this.#world = world;
    engine.addContext(context, group);
    engine.addContext(context + 1, group);
    const coll = context + 1;
    this.#coll = {
      rank,
      size: group.length,
      send: (dest, tag, data) => engine.send(coll, dest, tag, data),
      recv: (source, tag, into) => engine.recv(coll, source, tag, into, undefined).then(lengthOf),
    };
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** World ranks of the members, in rank order (`worldRanks[r]` = rank r's world rank). */
  get worldRanks(): readonly number[] {
    return this.#group;
  }

  /**
   * Sends `data` to `dest` with `tag`. Resolves once `data` may be reused
   * (for large messages: once the receiver has taken them).
   * @throws TypeError / RangeError for a bad destination, tag or buffer.
   * Rejects with MpError `'EPEERDEAD'` (the destination or the job failed), `'ECLOSED'`.
   */
  send(dest: Rank, tag: Tag, data: ArrayBufferView): Promise<void> {
    const m = 'send';
    check.rank(m, 'dest', dest, this.size);
    check.tag(m, tag);
    const bytes = check.bytes(m, 'data', data);
    return this.#engine.send(this.#context, dest, tag, bytes);
  }

  /** The same as {@link send} (MPI's nonblocking name: every operation here is nonblocking). */
  isend(dest: Rank, tag: Tag, data: ArrayBufferView): Promise<void> {
    return this.send(dest, tag, data);
  }

  /**
   * Receives one message into `options.into`; resolves with its source,
   * tag, length and bytes (a view of `into`).
   * @throws TypeError / RangeError for a bad source, tag, buffer or signal.
   * Rejects with MpError `'ETRUNC'` (too long for `into`; `length` tells the real size), `'ECANCELED'`,
   * `'EPEERDEAD'` (the only possible sender failed, or the job lost a rank), `'ECLOSED'`.
   */
  recv(options: RecvOptions): Promise<Received> {
    const m = 'recv';
    if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object ({ into, source?, tag?, signal? })`);
    const source = check.source(m, options.source ?? ANY_SOURCE, this.size);
    const tag = check.recvTag(m, options.tag ?? ANY_TAG);
    const into = check.bytes(m, 'into', options.into);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError(`${m}: signal must be an AbortSignal`);
    return this.#engine.recv(this.#context, source, tag, into, options.signal);
  }

  /** The same as {@link recv}. */
  irecv(options: RecvOptions): Promise<Received> {
    return this.recv(options);
  }

  /** Resolves once every rank has entered the barrier (dissemination algorithm). */
  barrier(): Promise<void> {
    return barrier(this.#nextCollective());
  }

  /** Copies `data` of `root` into every rank's `data` (same length everywhere). */
  bcast(data: ArrayBufferView, root: Rank): Promise<void> {
    return bcast(this.#nextCollective(), data, root);
  }

  /** Elementwise `op` of every rank's `data`, into `root`'s `data` (others' are scratch). */
  reduce(data: ReducibleArray, op: ReduceOp, root: Rank): Promise<void> {
    return reduce(this.#nextCollective(), data, op, root);
  }

  /** Replaces every rank's `data` by the elementwise `op` of all ranks' `data`. */
  allreduce(data: ReducibleArray, op: ReduceOp): Promise<void> {
    return allreduce(this.#nextCollective(), data, op);
  }

  /** Every rank's `send` (same length) laid end to end in rank order, into every rank's `recv`. */
  allgather(send: ArrayBufferView, recv: ArrayBufferView): Promise<void> {
    return allgather(this.#nextCollective(), send, recv);
  }

  /** Every rank's `send`, in rank order, into `root`'s `recv` (undefined elsewhere). */
  gather(send: ArrayBufferView, recv: ArrayBufferView | undefined, root: Rank): Promise<void> {
    return gather(this.#nextCollective(), send, recv, root);
  }

  /** Piece r of `root`'s `send` into rank r's `recv`. */
  scatter(send: ArrayBufferView | undefined, recv: ArrayBufferView, root: Rank): Promise<void> {
    return scatter(this.#nextCollective(), send, recv, root);
  }

  /** Piece r of every rank's `send` into piece (sender) of rank r's `recv`. */
  alltoall(send: ArrayBufferView, recv: ArrayBufferView): Promise<void> {
    return alltoall(this.#nextCollective(), send, recv);
  }

  /**
   * Collective: ranks passing the same `color` form a new communicator,
   * ranked by `key` then old rank; `UNDEFINED_COLOR` joins none (resolves
   * `undefined`).
   */
  async split(color: number, key: number): Promise<Communicator | undefined> {
    const p2p = this.#nextCollective();
    const group = await split(p2p, color, key);
    // Everyone in this communicator agrees on the new context ids: the largest next id any member has.
    const next = Int32Array.of(this.#engine.nextContext);
    await allreduce(this.#nextCollective(), next, 'max');
    const id = next[0] as number;
    this.#engine.reserveContexts(id + 2);
    if (group === undefined) return undefined;
    return new Communicator(
      this.#engine,
      id,
      group.ranks.map((r) => this.#group[r] as number),
      group.rank,
      undefined,
    );
  }

  /**
   * Closes the communicator: its pending receives fail with `'ECLOSED'`.
   * The world communicator also lets posted sends finish and releases the
   * device. Not collective; idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#engine.removeContext(this.#context);
    this.#engine.removeContext(this.#context + 1);
    this.#closing = this.#world?.close() ?? Promise.resolve();
    return this.#closing;
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #nextCollective(): PointToPoint {
    // A closed communicator needs no check here: its contexts are gone, so the first send or receive rejects 'ECLOSED'.
    const k = this.#calls++ % COLLECTIVE_WINDOWS;
    return offsetTags(this.#coll, k * COLLECTIVE_TAG_SPAN);
  }
}

function lengthOf(r: Received): number {
  return r.length;
}
