/**
 * The rendezvous path, for messages over the eager limit:
 * ```
 *  sender                                   receiver
 *  register the buffer (cache)
 *  RTS {address, rkey, length, id} ----->   (matched later by the engine)
 *                                 <-----    RDMA READ into its own registered buffer
 *  done()                         <-----    FIN {id}
 * ```
 * This file keeps both sides' state: sends waiting for their FIN, READs in
 * flight (in pieces of at most `READ_CHUNK`). Memory the registration
 * cache cannot take (e.g. a resizable ArrayBuffer) goes through a
 * temporary registered copy. The small frames (RTS, FIN) go out through
 * frames.ts; the transport decides when.
 * @internal
 * @module
 */
import type { MemoryRegion, ProtectionDomain, QueuePair, Registration, RegistrationCache, SendWr } from '@rdmajs/verbs';

import { MpError } from '../errors.js';
import { READ_ID_BASE } from './config.js';
import type { Announcement, Done, Peer, Queued } from './peer.js';

/** Largest single RDMA READ (bigger messages are read in pieces). */
const READ_CHUNK = 64 << 20;

/** A READ in flight: the receiver's side of one rendezvous. */
export interface ReadOp {
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

/** A send waiting for its FIN: the sender's side of one rendezvous. */
interface RendezvousSend {
  peer: Peer;
  reg: Registration | undefined;
  bounce: MemoryRegion | undefined;
  done: Done;
}

export class RendezvousPath {
  readonly #pd: ProtectionDomain;
  readonly #cache: RegistrationCache;
  readonly #fail: (peer: Peer, err: MpError) => void;
  readonly #reads = new Map<number, ReadOp>();
  readonly #sends = new Map<number, RendezvousSend>();
  #nextRead = 0;
  #nextSend = 0;
  // One reused READ work request: postSend encodes it at once.
  readonly #sge = { mr: undefined as unknown as MemoryRegion, offset: 0, length: 0 };
  readonly #remote = { address: 0n, rkey: 0, offset: 0 };
  readonly #wr: SendWr = { id: 0n, opcode: 'RDMA_READ', sg: [this.#sge], remote: this.#remote };

  /** `fail` is told when a post fails (the connection is broken). */
  constructor(pd: ProtectionDomain, cache: RegistrationCache, fail: (peer: Peer, err: MpError) => void) {
    this.#pd = pd;
    this.#cache = cache;
    this.#fail = fail;
  }

  /** Registers `data` for the peer to read and returns the RTS announcing it; `done` runs at the FIN. */
  announce(peer: Peer, context: number, tag: number, data: Uint8Array, done: Done): Extract<Queued, { kind: 'rts' }> {
    const reg = this.#cache.acquire(data);
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
    }
    const id = this.#nextSend;
    this.#nextSend = (this.#nextSend + 1) >>> 0;
    this.#sends.set(id, { peer, reg, bounce, done });
    return { kind: 'rts', context, tag, length: data.length, id, address, rkey };
  }

  /** The FIN for send `id` came from `peer`: the buffer is released and the send done. */
  finished(peer: Peer, id: number): void {
    const s = this.#sends.get(id);
    if (s === undefined || s.peer !== peer) return;
    this.#sends.delete(id);
    this.#release(s);
    s.done();
  }

  /** Prepares reading announcement `a` into `into` (at least its length); returns the READ's op number for {@link post}. */
  prepare(peer: Peer, a: Announcement, into: Uint8Array, done: Done): number {
    const target = a.length === into.length ? into : into.subarray(0, a.length);
    const reg = this.#cache.acquire(target);
    const bounce = reg === undefined ? this.#pd.allocateMemory(a.length, ['LOCAL_WRITE']) : undefined;
    const op = this.#nextRead;
    this.#nextRead = (this.#nextRead + 1) % READ_ID_BASE;
    const chunks = Math.max(1, Math.ceil(a.length / READ_CHUNK));
    this.#reads.set(op, { peer, announcement: a, into: target, reg, bounce, chunks, posted: 0, completed: 0, done });
    return op;
  }

  /** Posts the remaining chunks of READ `op` that fit the send queue; true once all are posted. */
  post(peer: Peer, op: number): boolean {
    const r = this.#reads.get(op);
    if (r === undefined) return true; // failed meanwhile
    const a = r.announcement;
    while (r.posted < r.chunks) {
      if (!peer.ready || peer.sqFree === 0) return false;
      const offset = r.posted * READ_CHUNK;
      if (r.reg !== undefined) {
        this.#sge.mr = r.reg.mr;
        this.#sge.offset = r.reg.offset + offset;
      } else {
        this.#sge.mr = r.bounce as MemoryRegion;
        this.#sge.offset = offset;
      }
      this.#sge.length = Math.min(READ_CHUNK, a.length - offset);
      this.#remote.address = a.address;
      this.#remote.rkey = a.rkey;
      this.#remote.offset = offset;
      this.#wr.id = BigInt(READ_ID_BASE + op);
      try {
        (peer.qp as QueuePair<'ready'>).postSend(this.#wr);
      } catch (err) {
        this.#fail(peer, new MpError({ code: 'EPEERDEAD', peer: peer.rank, cause: err }, `cannot post to rank ${peer.rank}: ${(err as Error).message}`));
        return true;
      }
      peer.posted(true);
      r.posted++;
    }
    return true;
  }

  /**
   * A chunk of READ `op` completed. Returns the READ once all its chunks
   * have, its data in place: the caller sends the FIN and calls `done`.
   */
  chunkDone(op: number): ReadOp | undefined {
    const r = this.#reads.get(op);
    if (r === undefined || ++r.completed < r.chunks) return undefined;
    this.#reads.delete(op);
    if (r.bounce !== undefined) {
      r.into.set(r.bounce.buffer.subarray(0, r.announcement.length));
      r.bounce.close();
    }
    if (r.reg !== undefined) this.#cache.release(r.reg);
    return r;
  }

  /** A chunk of READ `op` failed (the peer is being failed): forget the READ. */
  chunkFailed(op: number): void {
    this.#reads.delete(op);
  }

  /** Fails every rendezvous, either side, with `peer`. */
  failPeer(peer: Peer, err: MpError): void {
    for (const [id, s] of this.#sends) {
      if (s.peer !== peer) continue;
      this.#sends.delete(id);
      // The NIC may still read this memory until the QP is destroyed: keep registrations (closed with the context).
      s.done(err);
    }
    for (const [op, r] of this.#reads) {
      if (r.peer !== peer) continue;
      this.#reads.delete(op);
      r.done(err);
    }
  }

  #release(s: RendezvousSend): void {
    if (s.reg !== undefined) this.#cache.release(s.reg);
    if (s.bounce !== undefined) {
      try {
        s.bounce.close();
      } catch {
        // Still in a work request (a failed QP keeps it until it is destroyed): closed with the context.
      }
    }
  }
}
