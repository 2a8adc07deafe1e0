/**
 * The send side's window on the peer: the mirror we copy outgoing bytes
 * into, the stream cursors, both credits the peer grants (ring bytes and
 * receive WQEs, read from the credit word it RDMA-writes after our ring),
 * the DATA messages aimed at its ring, and the flush policy (when batched
 * writes go out).
 *
 * Cursors (u32, wrapping): `tail` counts bytes copied in (or sent
 * zero-copy), `posted` bytes posted as DATA, `peerConsumed` what the peer
 * last said it consumed. The mirror has the peer ring's size and byte `t`
 * of the stream sits at the same position in both, so mirror space is free
 * exactly when the peer returns credit for it.
 * @module
 */
import { CONTROL_RESERVE, CREDIT_BYTES, Kind, advance, dist, imm, validCursor, type Hello } from '../protocol.js';
import { INLINE_MAX } from './options.js';
import type { SendLedger } from './send-ledger.js';
import type { MemoryRegion, SendWr, Transport } from './transport.js';

/** A reused WRITE into the peer's ring: offsets and lengths change per post. */
export type RingWrite = SendWr & { sg: [{ mr: MemoryRegion; offset: number; length: number }]; remote: { address: bigint; rkey: number; offset: number } };
/** The WRITE_WITH_IMM that ends a DATA message. */
export type RingWriteImm = RingWrite & { imm: number };

/** One DATA batch at most this big, so the receiver can work on one batch while the next is on the wire. */
export const BATCH_MAX = 256 * 1024;
// Unsent bytes from which a batched flush waits for the next loop turn.
const BULK_BYTES = 16 * 1024;

/** What {@link SendWindow.postData} ended on. */
export type PostResult = 'posted' | 'blocked' | 'failed';

export class SendWindow {
  readonly mirror: MemoryRegion;
  /** Our own credit word (what we announce), sent inline from the mirror's tail. */
  readonly scratch: Uint32Array;
  readonly peer: Hello;
  readonly peerSize: number;
  readonly peerMask: number;
  tail = 0;
  posted = 0;
  peerConsumed = 0;
  /** Messages sent (each uses one of the peer's receives). */
  sentMsgs = 0;
  peerReposted = 0;
  readonly #mirrorBuf: Buffer;
  readonly #credit: Uint32Array; // the word the peer writes: [consumed, reposted]
  readonly #ledger: SendLedger;
  readonly #violation: (what: string) => void;
  readonly #wrA: RingWrite;
  readonly #wrB: RingWriteImm;
  readonly #one: SendWr[];
  readonly #two: SendWr[];
  #flushQueued = false;
  readonly #flush: () => void;
  readonly #flushLater: () => void;

  constructor(transport: Transport, peer: Hello, ledger: SendLedger, violation: (what: string) => void, flush: () => void) {
    this.peer = peer;
    this.peerSize = peer.ringSize;
    this.peerMask = peer.ringSize - 1;
    this.#ledger = ledger;
    this.#violation = violation;
    const ring = transport.ring;
    this.#credit = new Uint32Array(ring.buffer, ring.byteOffset + transport.ringSize, 2);
    this.mirror = transport.allocate(peer.ringSize + CREDIT_BYTES);
    this.#mirrorBuf = this.mirror.buffer;
    this.scratch = new Uint32Array(this.#mirrorBuf.buffer, this.#mirrorBuf.byteOffset + peer.ringSize, 2);
    this.#wrA = this.ringWrite(false) as RingWrite;
    this.#wrB = this.ringWrite(true);
    this.#one = [this.#wrB];
    this.#two = [this.#wrA, this.#wrB];
    this.#flush = flush;
    this.#flushLater = () => {
      this.#flushQueued = false;
      flush();
    };
  }

  /** A new WRITE (`withImm`: WRITE_WITH_IMM) from the mirror into the peer's ring. */
  ringWrite(withImm: boolean): RingWriteImm {
    const sg: RingWrite['sg'] = [{ mr: this.mirror, offset: 0, length: 0 }];
    const remote = { address: this.peer.ringAddress, rkey: this.peer.rkey, offset: 0 };
    if (withImm) return { opcode: 'RDMA_WRITE_WITH_IMM', sg, remote, imm: 0, signaled: true };
    return { opcode: 'RDMA_WRITE', sg, remote, signaled: false } as RingWriteImm;
  }

  /** Free bytes in the peer's ring, from the last credit seen. */
  get writableBytes(): number {
    return this.peerSize - dist(this.tail, this.peerConsumed);
  }

  /** Bytes copied in and not posted yet. */
  get unposted(): number {
    return dist(this.tail, this.posted);
  }

  /** The peer's receives we may still use. */
  msgCredits(): number {
    return dist(advance(this.peerReposted, this.peer.recvCredits), this.sentMsgs);
  }

  /** Reads the credit word the peer writes; true if it moved. A lying peer is a violation. */
  readCredits(): boolean {
    const c = this.#credit[0]!;
    const r = this.#credit[1]!;
    if (c === this.peerConsumed && r === this.peerReposted) return false;
    if (!validCursor(c, this.peerConsumed, this.tail) || !validCursor(r, this.peerReposted, this.sentMsgs)) {
      this.#violation(`credit word out of range (consumed ${c}, tail ${this.tail}; reposted ${r}, sent ${this.sentMsgs})`);
      return false;
    }
    this.peerConsumed = c;
    this.peerReposted = r;
    return true;
  }

  /** Copies as much of `src[from..]` as the peer has room for into the mirror; returns the bytes taken. */
  copyIn(src: Buffer, from: number): number {
    this.readCredits();
    let n = Math.min(this.writableBytes, src.length - from);
    let taken = 0;
    while (n > 0) {
      const pos = this.tail & this.peerMask;
      const run = Math.min(n, this.peerSize - pos);
      src.copy(this.#mirrorBuf, pos, from + taken, from + taken + run);
      this.tail = advance(this.tail, run);
      taken += run;
      n -= run;
    }
    return taken;
  }

  /**
   * Aims a DATA message at `len` stream bytes from ring position `pos`:
   * `b` (WRITE_WITH_IMM) alone, or `a` up to the ring's end and `b` for
   * the rest. `src` is where the bytes start in the source region; with
   * `sourceWraps` the source has the ring's layout (the mirror), else it is
   * contiguous (the caller's buffer). Returns whether it takes both.
   */
  aim(a: RingWrite, b: RingWriteImm, pos: number, len: number, src: number, sourceWraps: boolean): boolean {
    const first = Math.min(len, this.peerSize - pos);
    b.imm = imm(Kind.DATA, len);
    if (first === len) {
      b.sg[0].offset = src;
      b.sg[0].length = len;
      b.remote.offset = pos;
      return false;
    }
    a.sg[0].offset = src;
    a.sg[0].length = first;
    a.remote.offset = pos;
    b.sg[0].offset = sourceWraps ? 0 : src + first;
    b.sg[0].length = len - first;
    b.remote.offset = 0;
    return true;
  }

  /**
   * Posts copied-in bytes as DATA while the send queue has room. Data
   * leaves CONTROL_RESERVE of the peer's receives for control messages:
   * 'blocked' when those are all that is left (tell the peer).
   */
  postData(): PostResult {
    while (this.posted !== this.tail) {
      if (this.msgCredits() <= CONTROL_RESERVE) {
        this.readCredits();
        if (this.msgCredits() <= CONTROL_RESERVE) return 'blocked';
      }
      const len = Math.min(dist(this.tail, this.posted), BATCH_MAX);
      const pos = this.posted & this.peerMask;
      // The mirror has the ring's layout: its bytes sit where they land.
      const wraps = this.aim(this.#wrA, this.#wrB, pos, len, pos, true);
      if (this.#ledger.free < (wraps ? 2 : 1)) break;
      this.#wrB.inline = !wraps && len <= INLINE_MAX;
      if (!this.#ledger.post(wraps ? this.#two : this.#one, this.#wrB)) return 'failed';
      this.sentMsgs = advance(this.sentMsgs, 1);
      this.posted = advance(this.posted, len);
    }
    return 'posted';
  }

  /**
   * The flush policy for bytes just copied in: at once with `noDelay`;
   * else at the end of the tick (writes of one tick share a DATA message),
   * and bulk (16 KiB and more unposted) one loop turn later, so a writer
   * that goes on at 'drain' adds to the same message (fewer messages, fewer
   * wake-ups of the reader). Never longer: there is no Nagle timer.
   */
  schedule(noDelay: boolean): void {
    if (noDelay) return this.#flush();
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    if (this.unposted >= BULK_BYTES) setImmediate(this.#flushLater);
    else queueMicrotask(this.#flushLater);
  }
}
