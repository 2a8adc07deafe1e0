/**
 * The engine under every communicator of a process: one matching engine per
 * communicator context, the receive requests, and the protocol choice
 * (eager or rendezvous) on top of a transport that only moves bytes.
 *
 * Ranks here are *world* ranks on the wire and *group* ranks in a
 * context's matching engine; a context is registered with its group's
 * world ranks, so a sub-communicator's `ANY_SOURCE` sees only its members.
 *
 * Messages for a context this rank has not registered yet (a peer finished
 * `split()` first and sent at once) wait in a per-context list and are
 * replayed into the engine when the context appears.
 *
 * Failure policy: when a peer's connection fails, receives that only it
 * could satisfy fail; when the job reports a rank *died* ({@link failAll}),
 * every pending and later operation fails (collectives elsewhere would wait
 * on it forever otherwise), naming that rank.
 * @internal
 * @module
 */
import { MpError, truncationError } from './errors.js';
import { MatchingEngine } from './matching.js';
import type { Announcement, Done } from './transport/peer.js';
import type { TransportHandler } from './transport/config.js';
import type { Received } from './types.js';

/** What the engine needs from a transport (the verbs one, or a test double). */
export interface Wire {
  readonly eagerLimit: number;
  sendEager(dest: number, context: number, tag: number, data: Uint8Array, done: Done): void;
  sendRendezvous(dest: number, context: number, tag: number, data: Uint8Array, done: Done): void;
  fetch(a: Announcement, into: Uint8Array, done: Done): void;
  decline(a: Announcement): void;
  /** Fails every pending transfer with `err` and posts nothing more. */
  abort(err: MpError): void;
}

/** A message that arrived before its receive: eager bytes (copied), or an announcement. */
interface Arrival {
  data: Uint8Array | undefined;
  announcement: Announcement | undefined;
}

/** A posted receive. */
interface RecvRequest {
  readonly context: ContextState;
  readonly into: Uint8Array;
  readonly resolve: (s: Received) => void;
  readonly reject: (e: MpError) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  ticket: unknown;
}

interface ContextState {
  readonly id: number;
  readonly matching: MatchingEngine<Arrival, RecvRequest>;
  /** `group[g]` = world rank of group rank g. */
  readonly group: readonly number[];
  /** World rank → group rank (-1 when not a member). */
  readonly toGroup: Int32Array;
}

interface Early {
  source: number;
  tag: number;
  arrival: Arrival;
}

export class Engine implements TransportHandler {
  readonly worldRank: number;
  readonly worldSize: number;
  #wire: Wire | undefined;
  readonly #contexts = new Map<number, ContextState>();
  readonly #early = new Map<number, Early[]>();
  /** Contexts closed here: late messages for them are dropped, not kept as early. */
  readonly #retired = new Set<number>();
  #failure: MpError | undefined;
  #nextContext = 2;

  constructor(worldRank: number, worldSize: number) {
    this.worldRank = worldRank;
    this.worldSize = worldSize;
  }

  /** Attaches the transport (after it is created with this engine as its handler). */
  attach(wire: Wire): void {
    this.#wire = wire;
  }

  /** The lowest context id this process has not used; `split()` agrees on the max over the group. */
  get nextContext(): number {
    return this.#nextContext;
  }

  /** The error every operation now fails with, once the job lost a rank or the engine closed. */
  get failure(): MpError | undefined {
    return this.#failure;
  }

  /** Registers context `id` for the group `group` (world ranks); replays messages that came early. */
  addContext(id: number, group: readonly number[]): void {
    if (this.#contexts.has(id)) throw new MpError({ code: 'EINVAL' }, `context ${id} is in use`);
    const toGroup = new Int32Array(this.worldSize).fill(-1);
    group.forEach((w, g) => (toGroup[w] = g));
    const state: ContextState = { id, matching: new MatchingEngine(group.length), group, toGroup };
    this.#contexts.set(id, state);
    if (id >= this.#nextContext) this.#nextContext = id + 1;
    const early = this.#early.get(id);
    if (early !== undefined) {
      this.#early.delete(id);
      for (const e of early) this.#arrive(state, e.source, e.tag, e.arrival);
    }
  }

  /** Drops a context: its pending receives fail with `'ECLOSED'`, its unexpected messages are released. */
  removeContext(id: number): void {
    const state = this.#contexts.get(id);
    if (state === undefined) return;
    this.#contexts.delete(id);
    this.#retired.add(id);
    const { receives, messages } = state.matching.close();
    const err = new MpError({ code: 'ECLOSED' }, 'the communicator was closed');
    for (const r of receives) this.#settleReject(r, err);
    for (const m of messages) if (m.announcement !== undefined) this.#wire?.decline(m.announcement);
  }

  /** Raises the next context id to at least `id` (after the group agreed on it). */
  reserveContexts(id: number): void {
    if (id > this.#nextContext) this.#nextContext = id;
  }

  /**
   * Sends `data` to group rank `dest` of context `ctx`; resolves once `data`
   * may be reused. Rejects with the transport's MpError.
   */
  send(ctx: number, dest: number, tag: number, data: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const state = this.#contexts.get(ctx);
    if (state === undefined) return Promise.reject(new MpError({ code: 'ECLOSED' }, 'the communicator was closed'));
    const world = state.group[dest] as number;
    if (world === this.worldRank) return this.#sendSelf(state, tag, data);
    const wire = this.#wire as Wire;
    return new Promise<void>((resolve, reject) => {
      const done: Done = (err) => (err === undefined ? resolve() : reject(err));
      if (data.length <= wire.eagerLimit) wire.sendEager(world, ctx, tag, data, done);
      else wire.sendRendezvous(world, ctx, tag, data, done);
    });
  }

  /**
   * Receives the next message of context `ctx` from group rank `source`
   * (or ANY_SOURCE) with `tag` (or ANY_TAG) into `into`.
   */
  recv(ctx: number, source: number, tag: number, into: Uint8Array, signal: AbortSignal | undefined): Promise<Received> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const state = this.#contexts.get(ctx);
    if (state === undefined) return Promise.reject(new MpError({ code: 'ECLOSED' }, 'the communicator was closed'));
    if (signal?.aborted) return Promise.reject(cancelled(signal));
    return new Promise<Received>((resolve, reject) => {
      const req: RecvRequest = { context: state, into, resolve, reject, signal, onAbort: undefined, ticket: undefined };
      const hit = state.matching.postReceive(source, tag, req);
      if (hit.kind === 'message') {
        this.#complete(req, hit.source, hit.tag, hit.length, hit.payload);
        return;
      }
      req.ticket = hit;
      if (signal !== undefined) {
        req.onAbort = () => {
          if (state.matching.cancel(hit)) reject(cancelled(signal));
        };
        signal.addEventListener('abort', req.onAbort, { once: true });
      }
    });
  }

  /** Fails every pending and later operation with `err` (a rank died, or the communicator closed). */
  failAll(err: MpError): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    for (const state of this.#contexts.values()) {
      const { receives, messages } = state.matching.close();
      for (const r of receives) this.#settleReject(r, err);
      for (const m of messages) if (m.announcement !== undefined) this.#wire?.decline(m.announcement);
    }
    this.#contexts.clear();
    this.#early.clear();
    // Sends too: a rendezvous send waits for a FIN the dead rank will never send.
    this.#wire?.abort(err);
  }

  // TransportHandler -------------------------------------------------------

  onEager(context: number, source: number, tag: number, bytes: Uint8Array, start: number, length: number): void {
    const state = this.#contexts.get(context);
    // Copy now: the bounce buffer is reposted when this returns.
    if (state === undefined || state.matching.closed) {
      this.#keepEarly(context, source, tag, { data: bytes.slice(start, start + length), announcement: undefined });
      return;
    }
    const g = state.toGroup[source] as number;
    if (g < 0) return; // not a member: a stale or foreign frame
    const arrival: Arrival = { data: undefined, announcement: undefined };
    const posted = state.matching.deliver(g, tag, length, arrival);
    if (posted === undefined) {
      // Unexpected: keep a copy (the engine holds this same object).
      arrival.data = bytes.slice(start, start + length);
      return;
    }
    this.#finishEager(posted.handle, g, tag, bytes, start, length);
  }

  onRts(context: number, source: number, tag: number, announcement: Announcement): void {
    const state = this.#contexts.get(context);
    const arrival: Arrival = { data: undefined, announcement };
    if (state === undefined || state.matching.closed) {
      this.#keepEarly(context, source, tag, arrival);
      return;
    }
    this.#arrive(state, source, tag, arrival);
  }

  onPeerFailure(peer: number, err: MpError): void {
    for (const state of this.#contexts.values()) {
      const g = state.toGroup[peer] as number;
      if (g < 0 || state.matching.closed) continue;
      for (const r of state.matching.cancelFrom(g)) this.#settleReject(r, err);
    }
  }

  // Internals --------------------------------------------------------------

  #keepEarly(context: number, source: number, tag: number, arrival: Arrival): void {
    if (this.#failure !== undefined || this.#retired.has(context)) {
      if (arrival.announcement !== undefined) this.#wire?.decline(arrival.announcement);
      return;
    }
    let list = this.#early.get(context);
    if (list === undefined) this.#early.set(context, (list = []));
    list.push({ source, tag, arrival });
  }

  /** `source` is a world rank. */
  #arrive(state: ContextState, source: number, tag: number, arrival: Arrival): void {
    const g = state.toGroup[source] as number;
    if (g < 0) {
      if (arrival.announcement !== undefined) this.#wire?.decline(arrival.announcement);
      return;
    }
    const length = arrival.data?.length ?? arrival.announcement?.length ?? 0;
    const posted = state.matching.deliver(g, tag, length, arrival);
    if (posted !== undefined) this.#complete(posted.handle, g, tag, length, arrival);
  }

  /** Completes a matched receive with an arrival (`source` is a group rank). */
  #complete(req: RecvRequest, source: number, tag: number, length: number, arrival: Arrival): void {
    if (arrival.data !== undefined) {
      this.#finishEager(req, source, tag, arrival.data, 0, arrival.data.length);
      return;
    }
    const a = arrival.announcement as Announcement;
    const trunc = truncationError(length, req.into.length, source, tag);
    if (trunc !== undefined) {
      this.#wire?.decline(a);
      this.#settleReject(req, trunc);
      return;
    }
    this.#detach(req);
    (this.#wire as Wire).fetch(a, req.into, (err) => {
      if (err !== undefined) req.reject(err);
      else req.resolve({ source, tag, length, data: req.into.subarray(0, length) });
    });
  }

  #finishEager(req: RecvRequest, source: number, tag: number, bytes: Uint8Array, start: number, length: number): void {
    const trunc = truncationError(length, req.into.length, source, tag);
    if (trunc !== undefined) return this.#settleReject(req, trunc);
    req.into.set(start === 0 && length === bytes.length ? bytes : bytes.subarray(start, start + length));
    this.#detach(req);
    req.resolve({ source, tag, length, data: req.into.subarray(0, length) });
  }

  #sendSelf(state: ContextState, tag: number, data: Uint8Array): Promise<void> {
    const me = state.toGroup[this.worldRank] as number;
    const posted = state.matching.deliver(me, tag, data.length, { data: data.slice(), announcement: undefined });
    if (posted !== undefined) {
      const req = posted.handle;
      this.#finishEager(req, me, tag, data, 0, data.length);
    }
    return Promise.resolve();
  }

  #detach(req: RecvRequest): void {
    if (req.onAbort !== undefined) req.signal?.removeEventListener('abort', req.onAbort);
    req.onAbort = undefined;
  }

  #settleReject(req: RecvRequest, err: MpError): void {
    this.#detach(req);
    req.reject(err);
  }
}

function cancelled(signal: AbortSignal): MpError {
  return new MpError({ code: 'ECANCELED', cause: signal.reason }, 'the receive was cancelled before it matched');
}
