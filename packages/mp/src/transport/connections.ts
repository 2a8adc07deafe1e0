/**
 * The transport's connections: one {@link Peer} (RC queue pair, credits,
 * queue) per rank, made on first use, and the lazy handshake that connects
 * it (wireup.ts): ask the peer with a REQ, repeated with backoff within
 * `connectTimeoutMs`, answer every REQ, and mark a peer ready once its QP is
 * known to be connected to ours. Also checks the endpoint table the ranks
 * swapped at `init()`.
 * @internal
 * @module
 */
import { checkEndpoint, type CompletionQueue, type Endpoint, type ProtectionDomain, type QueuePair, type SharedReceiveQueue } from '@rdmajs/verbs';

import { MpError } from '../errors.js';
import { SQ_DEPTH, WIREUP_ID_BASE, type WireEndpoint } from './config.js';
import { Peer } from './peer.js';
import { WIREUP, Wireup, type WireupMessage } from './wireup.js';

/** Inline data asked of each QP (the device may give less; 0 disables). */
const INLINE_WANTED = 256;
/** First and largest pause between repeated connection requests (UD may drop them). */
const REQ_FIRST_MS = 20;
const REQ_MAX_MS = 1_000;
/**
 * Transport retries of our RC QPs. Not 7: rxe reads 7 as "retry forever", so
 * a frame to a peer that has already closed its QP (the normal race when
 * two ranks close at once) would never complete and close() would wait out
 * its whole drain bound. With 6, such a frame fails after 7 ACK timeouts
 * (about 0.5 s at the default timeout of ~67 ms).
 */
const RETRY_CNT = 6;

/** What the connections tell the transport. */
export interface ConnectionEvents {
  /** The connection to `peer` failed (it could not be made, or the peer never answered). */
  fail(peer: Peer, err: MpError): void;
  /** `peer`'s QP is connected to ours: its queued work may go. */
  ready(peer: Peer): void;
}

export class Connections {
  /** Each rank's connection, once made (this rank's entry stays empty). */
  readonly peers: (Peer | undefined)[];
  /** Inline bytes every QP takes: what was asked, lowered to what the device gives. */
  inline = INLINE_WANTED;
  readonly #byQpn = new Map<number, Peer>();
  readonly #wireup: Wireup;
  #table: WireEndpoint[] | undefined;
  #stopped = false;

  readonly #pd: ProtectionDomain;
  readonly #cq: CompletionQueue;
  readonly #srq: SharedReceiveQueue;
  readonly #rank: number;
  readonly #size: number;
  readonly #window: number;
  readonly #connectTimeoutMs: number;
  readonly #events: ConnectionEvents;

  constructor(
    pd: ProtectionDomain,
    cq: CompletionQueue,
    srq: SharedReceiveQueue,
    job: { rank: number; size: number; window: number; connectTimeoutMs: number },
    events: ConnectionEvents,
  ) {
    this.#pd = pd;
    this.#cq = cq;
    this.#srq = srq;
    this.#rank = job.rank;
    this.#size = job.size;
    this.#window = job.window;
    this.#connectTimeoutMs = job.connectTimeoutMs;
    this.#events = events;
    this.peers = new Array<Peer | undefined>(job.size);
    this.#wireup = new Wireup(pd, cq, WIREUP_ID_BASE);
  }

  /** The handshake QP's endpoint, this rank's part of the table. */
  endpoint(): Endpoint {
    return this.#wireup.endpoint();
  }

  /**
   * Takes the endpoint table (`table[r]` = rank r's published endpoint).
   * @throws MpError `'EPROTO'` for a malformed or big-endian entry.
   */
  setTable(table: readonly unknown[]): void {
    const checked: WireEndpoint[] = [];
    for (let r = 0; r < this.#size; r++) {
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
  }

  /** Ranks with a connection (RC queue pair). */
  get count(): number {
    let n = 0;
    for (const p of this.peers) if (p !== undefined) n++;
    return n;
  }

  /** The connection whose QP has number `qpn`. */
  byQpn(qpn: number): Peer | undefined {
    return this.#byQpn.get(qpn);
  }

  /** No more connection requests go out (the transport is closing). */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * The connection to `rank`, creating its QP (not yet connected) on first use.
   * @throws RangeError for this rank or one outside the job.
   */
  get(rank: number): Peer {
    const known = this.peers[rank];
    if (known !== undefined) return known;
    if (rank === this.#rank || !(rank >= 0 && rank < this.#size)) throw new RangeError(`no connection to rank ${rank}`);
    const cap = { maxSendWr: SQ_DEPTH, maxRecvWr: 1, maxSendSge: 1, maxRecvSge: 1, maxInlineData: this.inline };
    let qp: QueuePair;
    try {
      qp = this.#pd.createQp({ type: 'RC', sendCq: this.#cq, srq: this.#srq, cap });
    } catch (err) {
      if (this.inline === 0) throw err;
      this.inline = 0; // the device offers no inline data: copy through the slot only
      qp = this.#pd.createQp({ type: 'RC', sendCq: this.#cq, srq: this.#srq, cap: { ...cap, maxInlineData: 0 } });
    }
    this.inline = Math.min(this.inline, qp.cap.maxInlineData);
    const peer = new Peer(rank, qp, this.#window, Math.min(SQ_DEPTH, qp.cap.maxSendWr));
    this.peers[rank] = peer;
    this.#byQpn.set(qp.qpn, peer);
    return peer;
  }

  /** `peer` has work: make sure it is connected or being asked to connect. */
  need(peer: Peer): void {
    if (peer.ready || peer.reqTimer !== undefined || peer.failure !== undefined) return;
    peer.reqDelayMs = REQ_FIRST_MS;
    peer.reqDeadline = Date.now() + this.#connectTimeoutMs;
    this.#ask(peer);
  }

  /** The peer's QP is connected to ours: frames may go. */
  markReady(peer: Peer): void {
    if (peer.ready) return;
    peer.ready = true;
    peer.stopAsking();
    this.#events.ready(peer);
  }

  /** Whether completion `id` belongs to the handshake's QP. */
  owns(id: number): boolean {
    return this.#wireup.owns(id);
  }

  /** Handles a completion of the handshake's QP (a datagram received or sent). */
  complete(id: number, ok: boolean, byteLen: number): void {
    const msg = this.#wireup.complete(id, ok, byteLen, this.#stopped);
    if (msg !== undefined) this.#onWireup(msg);
  }

  /** Sends a REQ and schedules the next, until the peer answers or the bound passes. */
  #ask(peer: Peer): void {
    peer.reqTimer = undefined;
    if (peer.ready || peer.failure !== undefined || this.#stopped) return;
    if (Date.now() > peer.reqDeadline) {
      const why = `rank ${peer.rank} did not answer a connection request within ${this.#connectTimeoutMs / 1000} s (dead, or not progressing)`;
      this.#events.fail(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank }, why));
      return;
    }
    this.#wireup.send(peer.rank, this.#address(peer.rank), WIREUP.req, this.#rank, peer.qp.qpn, peer.psn);
    peer.reqTimer = setTimeout(() => this.#ask(peer), peer.reqDelayMs);
    peer.reqDelayMs = Math.min(peer.reqDelayMs * 2, REQ_MAX_MS);
  }

  #address(rank: number): Endpoint {
    return (this.#table as WireEndpoint[])[rank]!.wireup;
  }

  /** Connects our QP for `peer` to its QP `qpn` (once). */
  #connectTo(peer: Peer, qpn: number, psn: number): boolean {
    if (peer.remoteQpn !== undefined) return peer.remoteQpn === qpn;
    const ud = this.#address(peer.rank);
    try {
      peer.qp.connect({ qpn, psn, gid: ud.gid, lid: ud.lid, port: ud.port, mtu: ud.mtu }, { retryCnt: RETRY_CNT });
    } catch (err) {
      this.#events.fail(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank, cause: err }, `cannot connect to rank ${peer.rank}: ${(err as Error).message}`));
      return false;
    }
    peer.remoteQpn = qpn;
    return true;
  }

  #onWireup(msg: WireupMessage): void {
    if (msg.from >= this.#size || msg.from === this.#rank) return;
    const peer = this.get(msg.from);
    if (peer.failure !== undefined || !this.#connectTo(peer, msg.qpn, msg.psn)) return;
    if (msg.kind === WIREUP.req) {
      // Answer every REQ (ours may have been lost); the asker may not be connected to us yet.
      this.#wireup.send(peer.rank, this.#address(peer.rank), WIREUP.rep, this.#rank, peer.qp.qpn, peer.psn);
    } else {
      this.markReady(peer); // it connected before answering
    }
  }
}
