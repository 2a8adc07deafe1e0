/**
 * The verbs transport of @rdmajs/mp: moves frames and rendezvous data
 * between ranks; knows nothing of matching (the engine above decides where
 * a message goes).
 *
 * Resources, one set per process: one protection domain, one completion
 * queue (with a channel, so the progress loop sleeps on libuv when idle),
 * one shared receive queue fed from a pool of bounce buffers, a pool of
 * send bounce buffers, and one RC queue pair per peer, all on that CQ and
 * SRQ (so receive memory grows with the credit window, not with the number
 * of peers times a ring).
 *
 * Protocols:
 * - **eager** (up to `eagerLimit` bytes): header + payload copied into a
 *   send slot and SENT (inline when it fits the QP's inline size); the
 *   caller's buffer is free at once. The receiver copies it out of its
 *   bounce buffer and reposts the buffer.
 * - **rendezvous** (larger): the sender registers its buffer (registration
 *   cache) and SENDs an RTS (address, rkey, length, id); once the receiver
 *   has matched it, it RDMA READs straight into its own (registered)
 *   buffer and SENDs a FIN with the id; the FIN completes the send.
 * - **credits** ({@link Credits}) on every frame that takes a receive buffer.
 *
 * This file ties the parts together and keeps each peer's work in order
 * (what cannot be posted yet waits in the peer's queue and is retried when
 * credits, slots or send-queue entries come back):
 * config.ts (options, sizes, completion ids), connections.ts (peers and the
 * lazy handshake), frames.ts (send slots, eager and small frames), rndv.ts
 * (RTS/READ/FIN), receive.ts (SRQ buffers, incoming frames), progress.ts
 * (the CQ loop).
 * @internal
 * @module
 */
import { RegistrationCache, wcStatusText, type CompletionBatch, type CompletionQueue, type Context, type ProtectionDomain } from '@rdmajs/verbs';

import { MpError } from '../errors.js';
import {
  CREDIT_RESERVE_PER_PEER,
  READ_ID_BASE,
  SQ_DEPTH,
  transportConfig,
  type TransportHandler,
  type TransportOptions,
  type WireEndpoint,
} from './config.js';
import { Connections } from './connections.js';
import { FrameSender } from './frames.js';
import type { Announcement, Done, Peer, Queued } from './peer.js';
import { runProgress } from './progress.js';
import { Receiver } from './receive.js';
import { RendezvousPath } from './rndv.js';
import { MAX_MESSAGE_BYTES } from './wire.js';
import { WIREUP_COMPLETIONS } from './wireup.js';

/** How long close() lets posted sends finish before tearing the QPs down. */
const CLOSE_DRAIN_MS = 10_000;

export class VerbsTransport {
  readonly rank: number;
  readonly size: number;
  readonly eagerLimit: number;
  readonly window: number;
  readonly #ctx: Context;
  readonly #pd: ProtectionDomain;
  readonly #cq: CompletionQueue;
  readonly #cache: RegistrationCache;
  readonly #handler: TransportHandler;
  readonly #busyPollUs: number;
  readonly #conns: Connections;
  readonly #frames: FrameSender;
  readonly #rndv: RendezvousPath;
  readonly #receiver: Receiver;
  #closing = false;
  #closed = false;
  #loop: Promise<void> | undefined;
  /** Peers with queued work, retried when credits, slots or send-queue room come back. */
  readonly #blocked = new Set<Peer>();

  constructor(ctx: Context, rank: number, size: number, handler: TransportHandler, options: TransportOptions = {}) {
    this.rank = rank;
    this.size = size;
    this.#handler = handler;
    const config = transportConfig(size, options);
    this.eagerLimit = config.eagerLimit;
    this.window = config.window;
    this.#busyPollUs = config.busyPollUs;
    this.#ctx = ctx;
    this.#pd = ctx.allocPd();
    const peers = Math.max(size - 1, 1);
    const recvSlots = peers * (this.window + CREDIT_RESERVE_PER_PEER);
    const channel = ctx.createCompletionChannel();
    // Room for every completion that can be outstanding: SRQ receives, each RC send queue, the handshake's QP.
    this.#cq = ctx.createCq({ entries: recvSlots + peers * SQ_DEPTH + WIREUP_COMPLETIONS + 16, channel });
    const srq = this.#pd.createSrq({ maxWr: recvSlots });
    const fail = (peer: Peer, err: MpError): void => this.#failPeer(peer, err);
    this.#conns = new Connections(this.#pd, this.#cq, srq, { rank, size, window: this.window, connectTimeoutMs: config.connectTimeoutMs }, {
      fail,
      ready: (peer) => {
        if (peer.blocked) this.#blocked.add(peer);
      },
    });
    this.#frames = new FrameSender(this.#pd, rank, this.#conns, fail);
    // One cache for both directions: send buffers are read by peers, receive buffers written by our READs.
    // REMOTE_READ covers each cached ArrayBuffer whole: peers of this job may read it while it is cached.
    this.#cache = new RegistrationCache(this.#pd, { access: ['LOCAL_WRITE', 'REMOTE_READ'], registerOnUse: 1 });
    this.#rndv = new RendezvousPath(this.#pd, this.#cache, fail);
    this.#receiver = new Receiver(this.#pd, srq, recvSlots, size, { conns: this.#conns, rndv: this.#rndv, handler, fail });
  }

  /** This rank's part of the endpoint table. */
  localEndpoint(): WireEndpoint {
    return { littleEndian: new Uint8Array(Uint16Array.of(1).buffer)[0] === 1, wireup: this.#conns.endpoint() };
  }

  /**
   * Takes the endpoint table (`table[r]` = rank r's {@link localEndpoint})
   * and starts the progress loop. Connections are made on first use.
   * @throws MpError `'EPROTO'` for a malformed or big-endian entry.
   */
  start(table: readonly unknown[]): void {
    this.#conns.setTable(table);
    this.#loop = runProgress(this.#cq, this.#busyPollUs, {
      stopped: () => this.#closed,
      process: (batch, n) => this.#process(batch, n),
      deviceFailed: (err) => {
        const failure = new MpError({ code: 'EPEERDEAD', cause: err }, `the RDMA device failed: ${err.message}`);
        for (const peer of this.#conns.peers) if (peer !== undefined) this.#failPeer(peer, failure);
      },
    });
  }

  /** Ranks this process has a connection (RC queue pair) with. */
  get connections(): number {
    return this.#conns.count;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closing;
  }

  /** Sends `data` (at most `eagerLimit` bytes) eagerly; `done` once `data` may be reused. */
  sendEager(dest: number, context: number, tag: number, data: Uint8Array, done: Done): void {
    const peer = this.#conns.get(dest);
    if (peer.failure !== undefined) return done(peer.failure);
    if (!peer.ready || peer.blocked || !this.#frames.eager(peer, context, tag, data)) {
      this.#queue(peer, { kind: 'eager', context, tag, data, done });
      return;
    }
    done();
  }

  /** Sends `data` by rendezvous; `done` once the receiver has read it (FIN). */
  sendRendezvous(dest: number, context: number, tag: number, data: Uint8Array, done: Done): void {
    const peer = this.#conns.get(dest);
    if (peer.failure !== undefined) return done(peer.failure);
    if (data.length > MAX_MESSAGE_BYTES) return done(new MpError({ code: 'EINVAL', peer: dest, tag }, `a message of ${data.length} bytes exceeds ${MAX_MESSAGE_BYTES}`));
    const work = this.#rndv.announce(peer, context, tag, data, done);
    if (!peer.ready || peer.blocked || !this.#frames.rts(peer, work)) this.#queue(peer, work);
  }

  /** Reads an announced message into `into` (which holds at least its length); `done` once it is there and the sender released. */
  fetch(a: Announcement, into: Uint8Array, done: Done): void {
    const peer = this.#conns.get(a.source);
    if (peer.failure !== undefined) return done(peer.failure);
    const op = this.#rndv.prepare(peer, a, into, done);
    if (peer.blocked || !this.#rndv.post(peer, op)) this.#queue(peer, { kind: 'read', op });
  }

  /** Releases an announced message without reading it (the receive failed, e.g. truncation). */
  decline(a: Announcement): void {
    const peer = this.#conns.peers[a.source];
    if (peer === undefined || peer.failure !== undefined) return;
    this.#sendFin(peer, a.id);
  }

  /** Fails every pending operation on every connection with `err`; nothing more is posted. */
  abort(err: MpError): void {
    for (const peer of this.#conns.peers) if (peer !== undefined) this.#failPeer(peer, err, false);
  }

  /**
   * Lets posted sends finish (bounded), then destroys every verbs object.
   * Pending operations fail with `'ECLOSED'`. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closing) {
      await this.#loop;
      return;
    }
    this.#closing = true;
    // Unsignaled sends may still sit in a send queue: one signaled frame behind them tells when they left.
    for (const peer of this.#conns.peers) {
      if (peer !== undefined && peer.ready && peer.failure === undefined && peer.unsignaled > 0) this.#frames.credit(peer, true);
    }
    const deadline = Date.now() + CLOSE_DRAIN_MS;
    while (this.#outstanding() > 0 && Date.now() < deadline && !this.#closed) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const err = new MpError({ code: 'ECLOSED' }, 'the communicator was closed');
    for (const peer of this.#conns.peers) if (peer !== undefined) this.#failPeer(peer, err, false);
    this.#closed = true;
    this.#conns.stop();
    this.#cache.close();
    // Closing the context closes its children in dependency order (QPs, SRQ, MRs, CQ, PD).
    this.#ctx.close();
    await this.#loop;
  }

  #sendFin(peer: Peer, id: number): void {
    if (peer.blocked || !this.#frames.fin(peer, id)) this.#queue(peer, { kind: 'fin', id });
  }

  #queue(peer: Peer, work: Queued): void {
    peer.enqueue(work);
    if (peer.ready) this.#blocked.add(peer);
    else this.#conns.need(peer);
  }

  /** Work requests in flight on connections that still work. */
  #outstanding(): number {
    let n = 0;
    for (const peer of this.#conns.peers) if (peer !== undefined && peer.failure === undefined) n += peer.outstanding;
    return n;
  }

  /** Posts what peers have queued, in order, as far as resources allow. */
  #flush(): void {
    for (const peer of this.#blocked) {
      for (let w = peer.peek(); w !== undefined; w = peer.peek()) {
        let posted: boolean;
        switch (w.kind) {
          case 'eager':
            posted = this.#frames.eager(peer, w.context, w.tag, w.data);
            if (posted) {
              peer.shift();
              w.done();
              continue;
            }
            break;
          case 'rts':
            posted = this.#frames.rts(peer, w);
            break;
          case 'fin':
            posted = this.#frames.fin(peer, w.id);
            break;
          case 'read':
            posted = this.#rndv.post(peer, w.op);
            break;
        }
        if (!posted) break;
        peer.shift();
      }
      if (!peer.blocked) this.#blocked.delete(peer);
    }
  }

  /** Handles a batch of completions: the handshake's, receives, then sends and READs. */
  #process(batch: CompletionBatch, n: number): void {
    let freed = false;
    for (let i = 0; i < n; i++) {
      const id = Number(batch.id(i));
      if (this.#conns.owns(id)) {
        this.#conns.complete(id, batch.ok(i), batch.byteLen(i));
        continue;
      }
      if (batch.opcode(i) === 'RECV') {
        this.#receiver.receive(batch, i, id, this.#closed);
        continue;
      }
      const peer = this.#conns.byQpn(batch.qpNum(i));
      freed = true;
      this.#frames.completed(id);
      if (!batch.ok(i)) {
        if (peer !== undefined && peer.failure === undefined) {
          const status = batch.status(i);
          const detail = status === 'RETRY_EXC_ERR' || status === 'RNR_RETRY_EXC_ERR' ? 'is unreachable (died or left)' : `failed (${wcStatusText(status)})`;
          this.#failPeer(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank }, `rank ${peer.rank} ${detail}`));
        }
        if (id >= READ_ID_BASE) this.#rndv.chunkFailed(id - READ_ID_BASE);
        continue;
      }
      peer?.completed();
      if (id >= READ_ID_BASE) {
        const read = this.#rndv.chunkDone(id - READ_ID_BASE);
        if (read !== undefined) {
          this.#sendFin(read.peer, read.announcement.id);
          read.done();
        }
      }
    }
    // Credits go back even to a peer we have work queued for: that work may be
    // waiting for the peer's credits while the peer waits for ours.
    for (const peer of this.#conns.peers) {
      if (peer !== undefined && peer.failure === undefined && peer.ready && peer.credits.creditFrameDue) this.#frames.credit(peer);
    }
    if (freed || this.#blocked.size > 0) this.#flush();
  }

  /** Fails everything involving `peer` and stops posting to it. */
  #failPeer(peer: Peer, err: MpError, report = true): void {
    if (peer.failure !== undefined) return;
    peer.failure = err;
    peer.stopAsking();
    this.#blocked.delete(peer);
    for (const w of peer.drain()) if (w.kind === 'eager') w.done(err);
    this.#rndv.failPeer(peer, err);
    if (report) this.#handler.onPeerFailure(peer.rank, err);
  }
}
