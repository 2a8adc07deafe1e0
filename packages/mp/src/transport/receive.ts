/**
 * The receive side of the wire: the shared receive queue's bounce buffers
 * (one pool for all peers, `window` + a CREDIT reserve per peer) and what
 * happens to a frame that lands in one. The header is read into one reused
 * object; an eager payload is handed up in place (valid only during the
 * call); an RTS is handed up as an announcement; a FIN completes a
 * rendezvous send; every frame's piggybacked credits are taken. The buffer
 * is reposted at once, and a credit owed for it (credits.ts).
 *
 * A malformed frame (wrong size, unknown kind, from a QP that is not the
 * sender's, too many credits) fails that peer with `'EPROTO'`.
 * @internal
 * @module
 */
import type { CompletionBatch, MemoryRegion, ProtectionDomain, SharedReceiveQueue } from '@rdmajs/verbs';

import { MpError } from '../errors.js';
import { BouncePool } from './bounce.js';
import { SLOT_BYTES, type TransportHandler } from './config.js';
import type { Connections } from './connections.js';
import type { Peer } from './peer.js';
import type { RendezvousPath } from './rndv.js';
import { FRAME, HEADER_BYTES, emptyHeader, readHeader } from './wire.js';

export class Receiver {
  readonly #srq: SharedReceiveQueue;
  readonly #pool: BouncePool;
  readonly #size: number;
  readonly #conns: Connections;
  readonly #rndv: RendezvousPath;
  readonly #handler: TransportHandler;
  readonly #fail: (peer: Peer, err: MpError) => void;
  readonly #header = emptyHeader();
  // One reused receive work request: postRecv encodes it at once.
  readonly #sge = { mr: undefined as unknown as MemoryRegion, offset: 0, length: SLOT_BYTES };
  readonly #wr = { id: 0n, sg: [this.#sge] };

  /** Fills `srq` with `slots` buffers. `fail` is told when a peer sends a malformed frame. */
  constructor(
    pd: ProtectionDomain,
    srq: SharedReceiveQueue,
    slots: number,
    size: number,
    deps: { conns: Connections; rndv: RendezvousPath; handler: TransportHandler; fail: (peer: Peer, err: MpError) => void },
  ) {
    this.#srq = srq;
    this.#pool = new BouncePool(pd, slots, SLOT_BYTES, ['LOCAL_WRITE']);
    this.#sge.mr = this.#pool.mr;
    this.#size = size;
    this.#conns = deps.conns;
    this.#rndv = deps.rndv;
    this.#handler = deps.handler;
    this.#fail = deps.fail;
    for (let slot = 0; slot < slots; slot++) this.#repost(slot);
  }

  /** Handles receive completion `i` of `batch`, into buffer `slot`; `closed` once the QPs are being torn down. */
  receive(batch: CompletionBatch, i: number, slot: number, closed: boolean): void {
    if (!batch.ok(i)) {
      // Flushed at teardown, or a broken frame: the buffer goes back either way.
      if (!closed) this.#repost(slot);
      return;
    }
    const base = this.#pool.offset(slot);
    const h = readHeader(this.#pool.view, base, this.#header);
    const peer = h.source < this.#size ? this.#conns.peers[h.source] : undefined;
    const from = this.#conns.byQpn(batch.qpNum(i));
    const bytes = batch.byteLen(i);
    if (peer === undefined || from !== peer || bytes < HEADER_BYTES || (h.kind === FRAME.eager && bytes !== HEADER_BYTES + h.length)) {
      this.#repost(slot);
      if (from !== undefined) this.#fail(from, new MpError({ code: 'EPROTO', peer: from.rank }, `rank ${from.rank} sent a malformed frame`));
      return;
    }
    // A frame from the peer: its QP is connected to ours, so ours may send too.
    this.#conns.markReady(peer);
    if (h.credits > 0 && !peer.credits.grant(h.credits)) {
      this.#repost(slot);
      return this.#fail(peer, new MpError({ code: 'EPROTO', peer: peer.rank }, `rank ${peer.rank} returned more credits than it was given`));
    }
    switch (h.kind) {
      case FRAME.eager:
        this.#handler.onEager(h.context, h.source, h.tag, this.#pool.bytes, base + HEADER_BYTES, h.length);
        break;
      case FRAME.rts:
        this.#handler.onRts(h.context, h.source, h.tag, { source: h.source, id: h.id, address: h.address, rkey: h.rkey, length: h.length });
        break;
      case FRAME.fin:
        this.#rndv.finished(peer, h.id);
        break;
      case FRAME.credit:
        break;
      default:
        this.#repost(slot);
        return this.#fail(peer, new MpError({ code: 'EPROTO', peer: peer.rank }, `rank ${peer.rank} sent a frame of unknown kind ${h.kind}`));
    }
    this.#repost(slot);
    if (h.kind !== FRAME.credit) peer.credits.consumed();
  }

  #repost(slot: number): void {
    this.#wr.id = BigInt(slot);
    this.#sge.offset = this.#pool.offset(slot);
    this.#srq.postRecv(this.#wr);
  }
}
