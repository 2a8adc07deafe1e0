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
 * Completion ids: a send slot's index, or `READ_ID_BASE + op` for a READ.
 * @internal
 * @module
 */
import {
  RegistrationCache,
  type CompletionChannel,
  type CompletionQueue,
  type Context,
  type Endpoint,
  type MemoryRegion,
  type ProtectionDomain,
  type QueuePair,
  type Registration,
  type SendWr,
  type SharedReceiveQueue,
  CompletionBatch,
  checkEndpoint,
  wcStatusText,
} from '@rdmajs/verbs';

import * as check from '../check.js';
import { MpError } from '../errors.js';
import { BouncePool } from './bounce.js';
import { Peer, type Announcement, type Done, type Queued } from './peer.js';
import { WIREUP, WIREUP_COMPLETIONS, Wireup, type WireupMessage } from './wireup.js';
import { FRAME, HEADER_BYTES, MAX_MESSAGE_BYTES, RTS_BYTES, emptyHeader, readHeader, writeHeader, writeRts, type FrameKind } from './wire.js';

/** What the transport hands up. Called from the progress loop; must not throw. */
export interface TransportHandler {
  /** An eager message: its payload is `bytes[start, start + length)`, valid only during the call. */
  onEager(context: number, source: number, tag: number, bytes: Uint8Array, start: number, length: number): void;
  /** A rendezvous announcement: answer it later with {@link VerbsTransport.fetch} or {@link VerbsTransport.decline}. */
  onRts(context: number, source: number, tag: number, announcement: Announcement): void;
  /** The connection to `peer` failed: every operation involving it has been failed with `err`. */
  onPeerFailure(peer: number, err: MpError): void;
}

/** Tunables of the verbs transport under a communicator; pass them to {@link init} (they are part of {@link InitOptions}). */
export interface TransportOptions {
  /** Largest eager payload; larger messages use rendezvous. Default and maximum {@link DEFAULT_EAGER_LIMIT}. */
  eagerLimit?: number;
  /** Credits (receive buffers) per peer. Default: 64, less for large jobs. */
  window?: number;
  /** Busy-poll the CQ this long before sleeping on the channel (latency for CPU). Default 0. */
  busyPollUs?: number;
  /**
   * How long a first connection to a peer may take (it must answer the
   * handshake: a rank that is dead, or alive but never returns to its event
   * loop, fails the operation with `'EPEERDEAD'`), in ms. Default 30000.
   */
  connectTimeoutMs?: number;
}

/**
 * What a rank publishes so peers can connect to it when they first need to:
 * its handshake (UD) queue pair's endpoint. Plain JSON.
 */
export interface WireEndpoint {
  /** Byte order check: `1` as a little-endian u16 read back. */
  littleEndian: boolean;
  /** The UD QP of the handshake (its gid, lid, port and mtu are the port's, for the RC QPs too). */
  wireup: Endpoint;
}

/**
 * Bytes of one bounce buffer, header included. Measured on rxe (deterministic
 * testbed, 2 ranks, half round trip): eager beats rendezvous up to ~32 KiB
 * (16 KiB: 273 vs 337 us; 32 KiB: 476 vs 504 us; 60000 B: even).
 */
export const SLOT_BYTES = 32768;
/** Default (and largest) eager payload. */
export const DEFAULT_EAGER_LIMIT = SLOT_BYTES - HEADER_BYTES;
/** Entries of each QP's send queue. */
const SQ_DEPTH = 128;
/** Send bounce buffers (shared by all peers). */
const SEND_SLOTS = 256;
/** Receive buffer memory across all peers: the window shrinks for large jobs (down to 8 per peer). */
const RECV_BUDGET_BYTES = 32 << 20;
/** Extra SRQ buffers for CREDIT frames (two in flight per peer at most). */
const CREDIT_RESERVE_PER_PEER = 2;
/** Inline data asked of each QP (the device may give less; 0 disables). */
const INLINE_WANTED = 256;
/** Completions handled per poll. */
const BATCH = 64;
/** Batches before the loop yields a turn to the event loop. */
const TURNS_PER_YIELD = 16;
/** Largest single RDMA READ (bigger messages are read in pieces). */
const READ_CHUNK = 64 << 20;
const READ_ID_BASE = 2 ** 32;
/**
 * Inline sends go unsignaled (their slot is free once posted): no completion,
 * so the sender is not woken for each message. Every this many, one is
 * signaled so the send queue's entries come back.
 */
const SIGNAL_EVERY = 16;
/** Completion id of an unsignaled send (seen only if it fails). */
const UNSIGNALED_ID = READ_ID_BASE - 1;
/** Completion ids of the connection handshake (wireup.ts) start here. */
const WIREUP_ID_BASE = 2 ** 40;
/** Default bound of a first connection (TransportOptions.connectTimeoutMs). */
const CONNECT_TIMEOUT_MS = 30_000;
/** First and largest pause between repeated connection requests (UD may drop them). */
const REQ_FIRST_MS = 20;
const REQ_MAX_MS = 1_000;
/** How long close() lets posted sends finish before tearing the QPs down. */
const CLOSE_DRAIN_MS = 10_000;

interface ReadOp {
  peer: Peer;
  announcement: Announcement;
  into: Uint8Array;
  reg: Registration | undefined;
  /** A temporary region when `into` could not be registered (copied out at the end). */
  bounce: MemoryRegion | undefined;
  chunks: number;
  posted: number;
  completed: number;
  done: Done;
}

interface RendezvousSend {
  peer: Peer;
  reg: Registration | undefined;
  bounce: MemoryRegion | undefined;
  done: Done;
}

export class VerbsTransport {
  readonly rank: number;
  readonly size: number;
  readonly eagerLimit: number;
  readonly window: number;
  readonly #ctx: Context;
  readonly #pd: ProtectionDomain;
  readonly #channel: CompletionChannel;
  readonly #cq: CompletionQueue;
  readonly #srq: SharedReceiveQueue;
  readonly #sendPool: BouncePool;
  readonly #recvPool: BouncePool;
  readonly #cache: RegistrationCache;
  readonly #peers: (Peer | undefined)[];
  readonly #byQpn = new Map<number, Peer>();
  readonly #handler: TransportHandler;
  readonly #batch = new CompletionBatch(BATCH);
  readonly #header = emptyHeader();
  readonly #busyPollUs: number;
  #inline = INLINE_WANTED;
  readonly #connectTimeoutMs: number;
  readonly #wireup: Wireup;
  #table: WireEndpoint[] | undefined;
  readonly #reads = new Map<number, ReadOp>();
  readonly #rndv = new Map<number, RendezvousSend>();
  // Reused work requests: postSend encodes them at once, so one object each suffices.
  readonly #sendSge = { mr: undefined as unknown as MemoryRegion, offset: 0, length: 0 };
  readonly #sendWr: SendWr = { id: 0n, opcode: 'SEND', sg: [this.#sendSge], inline: false };
  readonly #readSge = { mr: undefined as unknown as MemoryRegion, offset: 0, length: 0 };
  readonly #readRemote = { address: 0n, rkey: 0, offset: 0 };
  readonly #readWr: SendWr = { id: 0n, opcode: 'RDMA_READ', sg: [this.#readSge], remote: this.#readRemote };
  readonly #recvSge = { mr: undefined as unknown as MemoryRegion, offset: 0, length: SLOT_BYTES };
  readonly #recvWr = { id: 0n, sg: [this.#recvSge] };
  #nextRead = 0;
  #nextRndv = 0;
  #closing = false;
  #closed = false;
  #loop: Promise<void> | undefined;
  /** Peers with queued work, retried when credits, slots or send-queue room come back. */
  readonly #blocked = new Set<Peer>();

  constructor(ctx: Context, rank: number, size: number, handler: TransportHandler, options: TransportOptions = {}) {
    this.rank = rank;
    this.size = size;
    this.#handler = handler;
    const m = 'init';
    if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
    this.eagerLimit = options.eagerLimit === undefined ? DEFAULT_EAGER_LIMIT : check.int(m, 'eagerLimit', options.eagerLimit, 0, DEFAULT_EAGER_LIMIT);
    const peers = Math.max(size - 1, 1);
    this.window =
      options.window === undefined ? Math.max(8, Math.min(64, Math.floor(RECV_BUDGET_BYTES / SLOT_BYTES / peers))) : check.int(m, 'window', options.window, 2, 4096);
    this.#busyPollUs = options.busyPollUs === undefined ? 0 : check.int(m, 'busyPollUs', options.busyPollUs, 0, 1_000_000);
    this.#connectTimeoutMs =
      options.connectTimeoutMs === undefined ? CONNECT_TIMEOUT_MS : check.int(m, 'connectTimeoutMs', options.connectTimeoutMs, 1, 0x7fff_ffff);
    this.#ctx = ctx;
    this.#pd = ctx.allocPd();
    const recvSlots = peers * (this.window + CREDIT_RESERVE_PER_PEER);
    this.#channel = ctx.createCompletionChannel();
    // Room for every completion that can be outstanding: SRQ receives, each RC send queue, the handshake's QP.
    this.#cq = ctx.createCq({ entries: recvSlots + peers * SQ_DEPTH + WIREUP_COMPLETIONS + 16, channel: this.#channel });
    this.#srq = this.#pd.createSrq({ maxWr: recvSlots });
    this.#sendPool = new BouncePool(this.#pd, SEND_SLOTS, SLOT_BYTES, ['LOCAL_WRITE']);
    this.#recvPool = new BouncePool(this.#pd, recvSlots, SLOT_BYTES, ['LOCAL_WRITE']);
    // One cache for both directions: send buffers are read by peers, receive buffers written by our READs.
    // REMOTE_READ covers each cached ArrayBuffer whole: peers of this job may read it while it is cached.
    this.#cache = new RegistrationCache(this.#pd, { access: ['LOCAL_WRITE', 'REMOTE_READ'], registerOnUse: 1 });
    this.#sendSge.mr = this.#sendPool.mr;
    this.#recvSge.mr = this.#recvPool.mr;
    this.#peers = new Array<Peer | undefined>(size);
    this.#wireup = new Wireup(this.#pd, this.#cq, WIREUP_ID_BASE);
    for (let slot = 0; slot < recvSlots; slot++) this.#repost(slot);
  }

  /** This rank's part of the endpoint table. */
  localEndpoint(): WireEndpoint {
    return { littleEndian: new Uint8Array(Uint16Array.of(1).buffer)[0] === 1, wireup: this.#wireup.endpoint() };
  }

  /**
   * Takes the endpoint table (`table[r]` = rank r's {@link localEndpoint})
   * and starts the progress loop. Connections are made on first use.
   * @throws MpError `'EPROTO'` for a malformed or big-endian entry.
   */
  start(table: readonly unknown[]): void {
    const checked: WireEndpoint[] = [];
    for (let r = 0; r < this.size; r++) {
      const e = table[r] as Partial<WireEndpoint> | null;
      if (typeof e !== 'object' || e === null || typeof e.wireup !== 'object' || e.wireup === null) {
        throw new MpError({ code: 'EPROTO', peer: r }, `rank ${r} published a malformed endpoint`);
      }
      if (e.littleEndian !== true) throw new MpError({ code: 'EPROTO', peer: r }, `rank ${r} is big-endian; @rdmajs/mp needs one byte order`);
      try {
        checkEndpoint('init', e.wireup);
      } catch (err) {
        throw new MpError({ code: 'EPROTO', peer: r, cause: err }, `rank ${r} published a malformed endpoint: ${(err as Error).message}`);
      }
      checked.push(e as WireEndpoint);
    }
    this.#table = checked;
    this.#loop = this.#run();
  }

  /** Ranks this process has a connection (RC queue pair) with. */
  get connections(): number {
    let n = 0;
    for (const p of this.#peers) if (p !== undefined) n++;
    return n;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closing;
  }

  /** Sends `data` (at most `eagerLimit` bytes) eagerly; `done` once `data` may be reused. */
  sendEager(dest: number, context: number, tag: number, data: Uint8Array, done: Done): void {
    const peer = this.#peer(dest);
    if (peer.failure !== undefined) return done(peer.failure);
    if (!peer.ready || peer.blocked || !this.#postEager(peer, context, tag, data)) {
      this.#queue(peer, { kind: 'eager', context, tag, data, done });
      return;
    }
    done();
  }

  /** Sends `data` by rendezvous; `done` once the receiver has read it (FIN). */
  sendRendezvous(dest: number, context: number, tag: number, data: Uint8Array, done: Done): void {
    const peer = this.#peer(dest);
    if (peer.failure !== undefined) return done(peer.failure);
    if (data.length > MAX_MESSAGE_BYTES) return done(new MpError({ code: 'EINVAL', peer: dest, tag }, `a message of ${data.length} bytes exceeds ${MAX_MESSAGE_BYTES}`));
    let reg = this.#cache.acquire(data);
    let bounce: MemoryRegion | undefined;
    let address: bigint;
    let rkey: number;
    if (reg !== undefined) {
      address = reg.mr.address + BigInt(reg.offset);
      rkey = reg.mr.rkey;
    } else {
      // Not registrable (e.g. resizable memory): send from a registered copy.
      bounce = this.#pd.allocateMemory(data.length, ['LOCAL_WRITE', 'REMOTE_READ']);
      bounce.buffer.set(data);
      address = bounce.address;
      rkey = bounce.rkey;
      reg = undefined;
    }
    const id = this.#nextRndv;
    this.#nextRndv = (this.#nextRndv + 1) >>> 0;
    this.#rndv.set(id, { peer, reg, bounce, done });
    const work: Queued = { kind: 'rts', context, tag, length: data.length, id, address, rkey };
    if (!peer.ready || peer.blocked || !this.#postRts(peer, work)) this.#queue(peer, work);
  }

  /** Reads an announced message into `into` (which holds at least its length); `done` once it is there and the sender released. */
  fetch(a: Announcement, into: Uint8Array, done: Done): void {
    const peer = this.#peer(a.source);
    if (peer.failure !== undefined) return done(peer.failure);
    const target = a.length === into.length ? into : into.subarray(0, a.length);
    let reg = this.#cache.acquire(target);
    let bounce: MemoryRegion | undefined;
    if (reg === undefined) {
      bounce = this.#pd.allocateMemory(a.length, ['LOCAL_WRITE']);
      reg = undefined;
    }
    const op = this.#nextRead;
    this.#nextRead = (this.#nextRead + 1) % READ_ID_BASE;
    const chunks = Math.max(1, Math.ceil(a.length / READ_CHUNK));
    this.#reads.set(op, { peer, announcement: a, into: target, reg, bounce, chunks, posted: 0, completed: 0, done });
    const work: Queued = { kind: 'read', op };
    if (peer.blocked || !this.#postRead(peer, op)) this.#queue(peer, work);
  }

  /** Releases an announced message without reading it (the receive failed, e.g. truncation). */
  decline(a: Announcement): void {
    const peer = this.#peers[a.source];
    if (peer === undefined || peer.failure !== undefined) return;
    this.#sendFin(peer, a.id);
  }

  /** Fails every pending operation on every connection with `err`; nothing more is posted. */
  abort(err: MpError): void {
    for (const peer of this.#peers) if (peer !== undefined) this.#failPeer(peer, err, false);
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
    for (const peer of this.#peers) {
      if (peer !== undefined && peer.ready && peer.failure === undefined && peer.unsignaled > 0) {
        this.#postFrame(peer, FRAME.credit, 0, 0, 0, 0, undefined, 0, 0n, true);
      }
    }
    const deadline = Date.now() + CLOSE_DRAIN_MS;
    while (this.#outstanding() > 0 && Date.now() < deadline && !this.#closed) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const err = new MpError({ code: 'ECLOSED' }, 'the communicator was closed');
    for (const peer of this.#peers) if (peer !== undefined) this.#failPeer(peer, err, false);
    this.#closed = true;
    this.#cache.close();
    // Closing the context closes its children in dependency order (QPs, SRQ, MRs, CQ, PD).
    this.#ctx.close();
    await this.#loop;
  }

  // ---------------------------------------------------------------------
  // Posting

  /** The connection to `rank`, creating its QP (not yet connected) on first use. */
  #peer(rank: number): Peer {
    const known = this.#peers[rank];
    if (known !== undefined) return known;
    if (rank === this.rank || !(rank >= 0 && rank < this.size)) throw new RangeError(`no connection to rank ${rank}`);
    const cap = { maxSendWr: SQ_DEPTH, maxRecvWr: 1, maxSendSge: 1, maxRecvSge: 1, maxInlineData: this.#inline };
    let qp: QueuePair;
    try {
      qp = this.#pd.createQp({ type: 'RC', sendCq: this.#cq, srq: this.#srq, cap });
    } catch (err) {
      if (this.#inline === 0) throw err;
      this.#inline = 0; // the device offers no inline data: copy through the slot only
      qp = this.#pd.createQp({ type: 'RC', sendCq: this.#cq, srq: this.#srq, cap: { ...cap, maxInlineData: 0 } });
    }
    this.#inline = Math.min(this.#inline, qp.cap.maxInlineData);
    const peer = new Peer(rank, qp, this.window, Math.min(SQ_DEPTH, qp.cap.maxSendWr));
    this.#peers[rank] = peer;
    this.#byQpn.set(qp.qpn, peer);
    return peer;
  }

  /** `peer` has work: make sure it is connected or being asked to connect. */
  #needConnection(peer: Peer): void {
    if (peer.ready || peer.reqTimer !== undefined || peer.failure !== undefined) return;
    peer.reqDelayMs = REQ_FIRST_MS;
    peer.reqDeadline = Date.now() + this.#connectTimeoutMs;
    this.#ask(peer);
  }

  /** Sends a REQ and schedules the next, until the peer answers or the bound passes. */
  #ask(peer: Peer): void {
    peer.reqTimer = undefined;
    if (peer.ready || peer.failure !== undefined || this.#closed) return;
    if (Date.now() > peer.reqDeadline) {
      this.#failPeer(
        peer,
        new MpError({ code: 'EPEERDEAD', peer: peer.rank }, `rank ${peer.rank} did not answer a connection request within ${this.#connectTimeoutMs / 1000} s (dead, or not progressing)`),
      );
      return;
    }
    this.#wireup.send(peer.rank, this.#wireupAddress(peer.rank), WIREUP.req, this.rank, peer.qp.qpn, peer.psn);
    peer.reqTimer = setTimeout(() => this.#ask(peer), peer.reqDelayMs);
    peer.reqDelayMs = Math.min(peer.reqDelayMs * 2, REQ_MAX_MS);
  }

  #wireupAddress(rank: number): Endpoint {
    return (this.#table as WireEndpoint[])[rank]!.wireup;
  }

  /** Connects our QP for `peer` to its QP `qpn` (once). */
  #connectTo(peer: Peer, qpn: number, psn: number): boolean {
    if (peer.remoteQpn !== undefined) return peer.remoteQpn === qpn;
    const ud = this.#wireupAddress(peer.rank);
    try {
      peer.qp.connect({ qpn, psn, gid: ud.gid, lid: ud.lid, port: ud.port, mtu: ud.mtu });
    } catch (err) {
      this.#failPeer(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank, cause: err }, `cannot connect to rank ${peer.rank}: ${(err as Error).message}`));
      return false;
    }
    peer.remoteQpn = qpn;
    return true;
  }

  /** The peer's QP is connected to ours: frames may go. */
  #markReady(peer: Peer): void {
    if (peer.ready) return;
    peer.ready = true;
    peer.stopAsking();
    if (peer.blocked) this.#blocked.add(peer);
  }

  #onWireup(msg: WireupMessage): void {
    if (msg.from >= this.size || msg.from === this.rank) return;
    const peer = this.#peer(msg.from);
    if (peer.failure !== undefined || !this.#connectTo(peer, msg.qpn, msg.psn)) return;
    if (msg.kind === WIREUP.req) {
      // Answer every REQ (ours may have been lost); the asker may not be connected to us yet.
      this.#wireup.send(peer.rank, this.#wireupAddress(peer.rank), WIREUP.rep, this.rank, peer.qp.qpn, peer.psn);
    } else {
      this.#markReady(peer); // it connected before answering
    }
  }

  #queue(peer: Peer, work: Queued): void {
    peer.enqueue(work);
    if (peer.ready) this.#blocked.add(peer);
    else this.#needConnection(peer);
  }

  /** Work requests in flight on connections that still work. */
  #outstanding(): number {
    let n = 0;
    for (const peer of this.#peers) if (peer !== undefined && peer.failure === undefined) n += peer.outstanding;
    return n;
  }

  /** Posts one frame from a send slot. False when a credit, slot or queue entry is missing (nothing spent). */
  #postFrame(
    peer: Peer,
    kind: FrameKind,
    context: number,
    tag: number,
    length: number,
    id: number,
    payload: Uint8Array | undefined,
    rkey: number,
    address: bigint,
    forceSignal = false,
  ): boolean {
    const needsCredit = kind !== FRAME.credit;
    if (!peer.ready || peer.sqFree === 0 || this.#sendPool.available === 0 || (needsCredit && peer.credits.available === 0)) return false;
    if (needsCredit) peer.credits.spend();
    const slot = this.#sendPool.take();
    const base = this.#sendPool.offset(slot);
    const view = this.#sendPool.view;
    writeHeader(view, base, kind, peer.credits.takeOwed(), context, this.rank, tag, length, id);
    let bytes = HEADER_BYTES;
    if (kind === FRAME.rts) {
      writeRts(view, base, address, rkey);
      bytes = RTS_BYTES;
    } else if (payload !== undefined && payload.length > 0) {
      this.#sendPool.bytes.set(payload, base + HEADER_BYTES);
      bytes += payload.length;
    }
    const inline = bytes <= this.#inline;
    const signaled = !inline || forceSignal || peer.unsignaled + 1 >= SIGNAL_EVERY;
    this.#sendSge.offset = base;
    this.#sendSge.length = bytes;
    this.#sendWr.id = BigInt(signaled ? slot : UNSIGNALED_ID);
    this.#sendWr.inline = inline;
    this.#sendWr.signaled = signaled;
    try {
      (peer.qp as QueuePair<'ready'>).postSend(this.#sendWr);
    } catch (err) {
      this.#sendPool.give(slot);
      this.#failPeer(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank, cause: err }, `cannot post to rank ${peer.rank}: ${(err as Error).message}`));
      return true; // consumed: the failure has settled everything
    }
    peer.posted(signaled);
    if (!signaled) this.#sendPool.give(slot); // inline: the payload is in the work request now
    return true;
  }

  #postEager(peer: Peer, context: number, tag: number, data: Uint8Array): boolean {
    return this.#postFrame(peer, FRAME.eager, context, tag, data.length, 0, data, 0, 0n);
  }

  #postRts(peer: Peer, w: Extract<Queued, { kind: 'rts' }>): boolean {
    return this.#postFrame(peer, FRAME.rts, w.context, w.tag, w.length, w.id, undefined, w.rkey, w.address);
  }

  #sendFin(peer: Peer, id: number): void {
    if (peer.blocked || !this.#postFrame(peer, FRAME.fin, 0, 0, 0, id, undefined, 0, 0n)) this.#queue(peer, { kind: 'fin', id });
  }

  /** Posts the remaining chunks of READ `op` that fit the send queue; true once all are posted. */
  #postRead(peer: Peer, op: number): boolean {
    const r = this.#reads.get(op);
    if (r === undefined) return true; // failed meanwhile
    const a = r.announcement;
    while (r.posted < r.chunks) {
      if (!peer.ready || peer.sqFree === 0) return false;
      const offset = r.posted * READ_CHUNK;
      const length = Math.min(READ_CHUNK, a.length - offset);
      if (r.reg !== undefined) {
        this.#readSge.mr = r.reg.mr;
        this.#readSge.offset = r.reg.offset + offset;
      } else {
        this.#readSge.mr = r.bounce as MemoryRegion;
        this.#readSge.offset = offset;
      }
      this.#readSge.length = length;
      this.#readRemote.address = a.address;
      this.#readRemote.rkey = a.rkey;
      this.#readRemote.offset = offset;
      this.#readWr.id = BigInt(READ_ID_BASE + op);
      try {
        (peer.qp as QueuePair<'ready'>).postSend(this.#readWr);
      } catch (err) {
        this.#failPeer(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank, cause: err }, `cannot post to rank ${peer.rank}: ${(err as Error).message}`));
        return true;
      }
      peer.posted(true);
      r.posted++;
    }
    return true;
  }

  /** Posts what peers have queued, in order, as far as resources allow. */
  #flush(): void {
    for (const peer of this.#blocked) {
      for (let w = peer.peek(); w !== undefined; w = peer.peek()) {
        let posted: boolean;
        switch (w.kind) {
          case 'eager':
            posted = this.#postEager(peer, w.context, w.tag, w.data);
            if (posted) {
              peer.shift();
              w.done();
              continue;
            }
            break;
          case 'rts':
            posted = this.#postRts(peer, w);
            break;
          case 'fin':
            posted = this.#postFrame(peer, FRAME.fin, 0, 0, 0, w.id, undefined, 0, 0n);
            break;
          case 'read':
            posted = this.#postRead(peer, w.op);
            break;
        }
        if (!posted) break;
        peer.shift();
      }
      if (!peer.blocked) this.#blocked.delete(peer);
    }
  }

  #repost(slot: number): void {
    this.#recvWr.id = BigInt(slot);
    this.#recvSge.offset = this.#recvPool.offset(slot);
    this.#srq.postRecv(this.#recvWr);
  }

  // ---------------------------------------------------------------------
  // Progress

  async #run(): Promise<void> {
    const cq = this.#cq;
    const batch = this.#batch;
    let turns = 0;
    while (!this.#closed) {
      try {
        let n = cq.pollInto(batch, this.#busyPollUs);
        if (n === 0) n = cq.armInto(batch);
        if (n === 0) {
          turns = 0;
          await cq.wait();
          continue;
        }
        this.#process(n);
        if (++turns >= TURNS_PER_YIELD) {
          turns = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (err) {
        if (this.#closed) return;
        // The CQ itself failed (overrun, device gone): nothing can progress.
        const failure = new MpError({ code: 'EPEERDEAD', cause: err }, `the RDMA device failed: ${(err as Error).message}`);
        for (const peer of this.#peers) if (peer !== undefined) this.#failPeer(peer, failure);
        return;
      }
    }
  }

  #process(n: number): void {
    const batch = this.#batch;
    let freed = false;
    for (let i = 0; i < n; i++) {
      const id = Number(batch.id(i));
      if (this.#wireup.owns(id)) {
        const msg = this.#wireup.complete(id, batch.ok(i), batch.byteLen(i), this.#closed);
        if (msg !== undefined) this.#onWireup(msg);
        continue;
      }
      const op = batch.opcode(i);
      if (op === 'RECV') {
        this.#onReceive(i, id);
        continue;
      }
      const peer = this.#byQpn.get(batch.qpNum(i));
      freed = true;
      if (id < UNSIGNALED_ID) this.#sendPool.give(id);
      if (!batch.ok(i)) {
        if (peer !== undefined && peer.failure === undefined) {
          const status = batch.status(i);
          const detail = status === 'RETRY_EXC_ERR' || status === 'RNR_RETRY_EXC_ERR' ? 'is unreachable (died or left)' : `failed (${wcStatusText(status)})`;
          this.#failPeer(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank }, `rank ${peer.rank} ${detail}`));
        }
        if (id >= READ_ID_BASE) this.#reads.delete(id - READ_ID_BASE);
        continue;
      }
      peer?.completed();
      if (id >= READ_ID_BASE) this.#onReadDone(id - READ_ID_BASE);
    }
    // Credits go back even to a peer we have work queued for: that work may be
    // waiting for the peer's credits while the peer waits for ours.
    for (const peer of this.#peers) {
      if (peer !== undefined && peer.failure === undefined && peer.ready && peer.credits.creditFrameDue) {
        this.#postFrame(peer, FRAME.credit, 0, 0, 0, 0, undefined, 0, 0n);
      }
    }
    if (freed || this.#blocked.size > 0) this.#flush();
  }

  #onReceive(i: number, slot: number): void {
    const batch = this.#batch;
    if (!batch.ok(i)) {
      // Flushed at teardown, or a broken frame: the buffer goes back either way.
      if (!this.#closed) this.#repost(slot);
      return;
    }
    const base = this.#recvPool.offset(slot);
    const h = readHeader(this.#recvPool.view, base, this.#header);
    const peer = h.source < this.size ? this.#peers[h.source] : undefined;
    const bytes = batch.byteLen(i);
    if (peer === undefined || this.#byQpn.get(batch.qpNum(i)) !== peer || bytes < HEADER_BYTES || (h.kind === FRAME.eager && bytes !== HEADER_BYTES + h.length)) {
      this.#repost(slot);
      const from = this.#byQpn.get(batch.qpNum(i));
      if (from !== undefined) this.#failPeer(from, new MpError({ code: 'EPROTO', peer: from.rank }, `rank ${from.rank} sent a malformed frame`));
      return;
    }
    // A frame from the peer: its QP is connected to ours, so ours may send too.
    this.#markReady(peer);
    if (h.credits > 0 && !peer.credits.grant(h.credits)) {
      this.#repost(slot);
      return this.#failPeer(peer, new MpError({ code: 'EPROTO', peer: peer.rank }, `rank ${peer.rank} returned more credits than it was given`));
    }
    switch (h.kind) {
      case FRAME.eager:
        this.#handler.onEager(h.context, h.source, h.tag, this.#recvPool.bytes, base + HEADER_BYTES, h.length);
        break;
      case FRAME.rts:
        this.#handler.onRts(h.context, h.source, h.tag, { source: h.source, id: h.id, address: h.address, rkey: h.rkey, length: h.length });
        break;
      case FRAME.fin: {
        const s = this.#rndv.get(h.id);
        if (s !== undefined && s.peer === peer) {
          this.#rndv.delete(h.id);
          this.#releaseSend(s);
          s.done();
        }
        break;
      }
      case FRAME.credit:
        break;
      default:
        this.#repost(slot);
        return this.#failPeer(peer, new MpError({ code: 'EPROTO', peer: peer.rank }, `rank ${peer.rank} sent a frame of unknown kind ${h.kind}`));
    }
    this.#repost(slot);
    if (h.kind !== FRAME.credit) peer.credits.consumed();
  }

  #onReadDone(op: number): void {
    const r = this.#reads.get(op);
    if (r === undefined) return;
    if (++r.completed < r.chunks) return;
    this.#reads.delete(op);
    if (r.bounce !== undefined) {
      r.into.set(r.bounce.buffer.subarray(0, r.announcement.length));
      r.bounce.close();
    }
    if (r.reg !== undefined) this.#cache.release(r.reg);
    this.#sendFin(r.peer, r.announcement.id);
    r.done();
  }

  #releaseSend(s: RendezvousSend): void {
    if (s.reg !== undefined) this.#cache.release(s.reg);
    if (s.bounce !== undefined) {
      try {
        s.bounce.close();
      } catch {
        // Still in a work request (a failed QP keeps it until it is destroyed): closed with the context.
      }
    }
  }

  /** Fails everything involving `peer` and stops posting to it. */
  #failPeer(peer: Peer, err: MpError, report = true): void {
    if (peer.failure !== undefined) return;
    peer.failure = err;
    peer.stopAsking();
    this.#blocked.delete(peer);
    for (const w of peer.drain()) if (w.kind === 'eager') w.done(err);
    for (const [id, s] of this.#rndv) {
      if (s.peer !== peer) continue;
      this.#rndv.delete(id);
      // The NIC may still read this memory until the QP is destroyed: keep registrations (closed with the context).
      s.done(err);
    }
    for (const [op, r] of this.#reads) {
      if (r.peer !== peer) continue;
      this.#reads.delete(op);
      r.done(err);
    }
    if (report) this.#handler.onPeerFailure(peer.rank, err);
  }
}
