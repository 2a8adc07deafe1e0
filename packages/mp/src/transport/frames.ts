/**
 * The send side of the wire: a pool of send bounce buffers (slots) and
 * the posting of every frame from one. The eager path lives here (header +
 * payload copied into a slot, so the caller's buffer is free at once), as
 * do the small frames of the other paths (RTS, FIN, CREDIT).
 *
 * A frame that fits the QP's inline size is copied into the work request
 * and goes unsignaled, its slot free at once: no completion wakes the
 * sender for each message. Every `SIGNAL_EVERY` sends one is signaled, so
 * the send queue's entries come back (peer.ts counts them). Posting takes a
 * credit (except CREDIT frames, see credits.ts), a slot and a send-queue
 * entry, or nothing: the caller queues the frame and retries.
 *
 * One reused work request: `postSend` encodes it at once, so posting
 * allocates nothing.
 * @internal
 * @module
 */
import type { MemoryRegion, ProtectionDomain, QueuePair, SendWr } from '@rdmajs/verbs';

import { MpError } from '../errors.js';
import { BouncePool } from './bounce.js';
import { SEND_SLOTS, SLOT_BYTES, UNSIGNALED_ID } from './config.js';
import type { Peer, Queued } from './peer.js';
import { FRAME, HEADER_BYTES, RTS_BYTES, writeHeader, writeRts, type FrameKind } from './wire.js';

/** Unsignaled sends allowed in a row before one is signaled. */
const SIGNAL_EVERY = 16;

export class FrameSender {
  readonly #pool: BouncePool;
  readonly #rank: number;
  /** Where the QPs' inline size is kept (it is known once the first QP exists). */
  readonly #limits: { readonly inline: number };
  readonly #fail: (peer: Peer, err: MpError) => void;
  readonly #sge = { mr: undefined as unknown as MemoryRegion, offset: 0, length: 0 };
  readonly #wr: SendWr = { id: 0n, opcode: 'SEND', sg: [this.#sge], inline: false };

  /** `fail` is told when a post fails (the connection is broken). */
  constructor(pd: ProtectionDomain, rank: number, limits: { readonly inline: number }, fail: (peer: Peer, err: MpError) => void) {
    this.#pool = new BouncePool(pd, SEND_SLOTS, SLOT_BYTES, ['LOCAL_WRITE']);
    this.#sge.mr = this.#pool.mr;
    this.#rank = rank;
    this.#limits = limits;
    this.#fail = fail;
  }

  /** A signaled send completed (or failed): its slot is free again. */
  completed(id: number): void {
    if (id < UNSIGNALED_ID) this.#pool.give(id);
  }

  /** An eager message: header and `data` in one frame. */
  eager(peer: Peer, context: number, tag: number, data: Uint8Array): boolean {
    return this.#post(peer, FRAME.eager, context, tag, data.length, 0, data, 0, 0n);
  }

  /** A rendezvous announcement (see rndv.ts). */
  rts(peer: Peer, w: Extract<Queued, { kind: 'rts' }>): boolean {
    return this.#post(peer, FRAME.rts, w.context, w.tag, w.length, w.id, undefined, w.rkey, w.address);
  }

  /** Tells the sender of rendezvous `id` that its buffer is free. */
  fin(peer: Peer, id: number): boolean {
    return this.#post(peer, FRAME.fin, 0, 0, 0, id, undefined, 0, 0n);
  }

  /** Returns owed credits with nothing else to carry them; `signaled` to learn when the queue ahead has left. */
  credit(peer: Peer, signaled = false): boolean {
    return this.#post(peer, FRAME.credit, 0, 0, 0, 0, undefined, 0, 0n, signaled);
  }

  /** Posts one frame from a send slot. False when a credit, slot or queue entry is missing (nothing spent). */
  #post(
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
    const pool = this.#pool;
    const needsCredit = kind !== FRAME.credit;
    if (!peer.ready || peer.sqFree === 0 || pool.available === 0 || (needsCredit && peer.credits.available === 0)) return false;
    if (needsCredit) peer.credits.spend();
    const slot = pool.take();
    const base = pool.offset(slot);
    writeHeader(pool.view, base, kind, peer.credits.takeOwed(), context, this.#rank, tag, length, id);
    let bytes = HEADER_BYTES;
    if (kind === FRAME.rts) {
      writeRts(pool.view, base, address, rkey);
      bytes = RTS_BYTES;
    } else if (payload !== undefined && payload.length > 0) {
      pool.bytes.set(payload, base + HEADER_BYTES);
      bytes += payload.length;
    }
    const inline = bytes <= this.#limits.inline;
    const signaled = !inline || forceSignal || peer.unsignaled + 1 >= SIGNAL_EVERY;
    this.#sge.offset = base;
    this.#sge.length = bytes;
    this.#wr.id = BigInt(signaled ? slot : UNSIGNALED_ID);
    this.#wr.inline = inline;
    this.#wr.signaled = signaled;
    try {
      (peer.qp as QueuePair<'ready'>).postSend(this.#wr);
    } catch (err) {
      pool.give(slot);
      this.#fail(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank, cause: err }, `cannot post to rank ${peer.rank}: ${(err as Error).message}`));
      return true; // consumed: the failure has settled everything
    }
    peer.posted(signaled);
    if (!signaled) pool.give(slot); // inline: the payload is in the work request now
    return true;
  }
}
