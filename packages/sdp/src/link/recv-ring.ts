/**
 * The receive side: the ring the peer writes into, its cursors, handing
 * bytes to the reader in order, reposting consumed receives, and deciding
 * when credit is due back to the peer.
 *
 * Cursors (u32, wrapping): `head` counts bytes we were told about (DATA
 * immediates), `consumed` what was handed to the reader, `announced` what
 * we last wrote into the sender's credit word. Ring positions are
 * `cursor & (size - 1)`.
 * @module
 */
import { CONTROL_RESERVE, advance, dist } from '../protocol.js';
import type { RecvWr, Transport } from './transport.js';

// Bytes handed to the reader per chunk (what net reads at a time).
const DELIVER_MAX = 64 * 1024;
// Small delivered chunks are cut from slabs of this size: one allocation
// per slab instead of one per chunk (as Node's own Buffer pool does).
// Kept under malloc's mmap threshold (128 KiB): a fresh mmap per slab
// costs page faults and zeroing on every byte (half the copy rate).
const SLAB_BYTES = 64 * 1024;
// Chunks at least this big get a buffer of their own.
const OWN_BUFFER_MIN = 16 * 1024;
// Consumed receives are reposted in batches of this many (one verbs call
// instead of one per message); at once when the peer waits for them.
const REPOST_BATCH = 16;
const EMPTY_RECV: RecvWr = { id: 0n };

/** Whether credit is due: not yet, a quiet credit-word write, or one that wakes a blocked peer. */
export type CreditDue = 'none' | 'quiet' | 'wake';

/** Where delivered bytes go (the socket, through the link). */
export interface Reader {
  /** In-order bytes; false pauses delivery until {@link RecvRing.resume}. */
  data(chunk: Buffer): boolean;
  /** The peer's FIN, after all its bytes. */
  eof(): void;
  /** Whether delivery may go on (not closing, not dead). */
  live(): boolean;
}

export class RecvRing {
  readonly size: number;
  head = 0;
  consumed = 0;
  announced = 0;
  /** Receives reposted so far (the second half of the credit word). */
  reposted = 0;
  announcedReposts = 0;
  /** The peer's FIN arrived. */
  eof = false;
  /** ...and every byte before it was delivered. */
  eofDelivered = false;
  #paused = false;
  #delivering = false;
  #toRepost = 0; // receives consumed, not reposted yet
  readonly #ring: Buffer;
  readonly #mask: number;
  readonly #transport: Transport;
  readonly #repostBatch: number;
  readonly #recvChains: RecvWr[][] = [];
  #slab = Buffer.allocUnsafeSlow(0);
  #slabUsed = 0;

  constructor(transport: Transport) {
    this.#transport = transport;
    this.#ring = transport.ring;
    this.size = transport.ringSize;
    this.#mask = transport.ringSize - 1;
    // Few receives (a small recvCredits) are given back sooner.
    this.#repostBatch = Math.max(1, Math.min(REPOST_BATCH, (transport.recvCredits - CONTROL_RESERVE) >> 2));
  }

  /** Bytes that arrived but were not handed to the reader yet. */
  get unread(): number {
    return dist(this.head, this.consumed);
  }

  /** A DATA message of `len` bytes landed; returns what is wrong with it, if anything. */
  arrived(len: number): string | undefined {
    if (len === 0 || this.unread + len > this.size) return `DATA of ${len} bytes does not fit the ring (${this.unread} unread of ${this.size})`;
    if (this.eof) return 'DATA after FIN';
    this.head = advance(this.head, len);
    return undefined;
  }

  /** `n` receives were consumed by messages. */
  used(n: number): void {
    this.#toRepost += n;
  }

  /** Whether reposting is due: a full batch, or any when the peer waits for them. */
  repostDue(peerBlocked: boolean): boolean {
    return this.#toRepost >= this.#repostBatch || (this.#toRepost > 0 && peerBlocked);
  }

  /** Reposts the consumed receives; throws when the QP refuses. */
  repost(): void {
    const n = this.#toRepost;
    if (n === 0) return;
    this.#toRepost = 0;
    let wrs = this.#recvChains[n];
    if (!wrs) wrs = this.#recvChains[n] = new Array<RecvWr>(n).fill(EMPTY_RECV);
    this.#transport.postRecv(wrs);
    this.reposted = advance(this.reposted, n);
  }

  /** Hands arrived bytes to `reader` until it pauses, then the FIN once all is read. */
  deliver(reader: Reader): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (!this.#paused && this.consumed !== this.head && reader.live()) {
        const pos = this.consumed & this.#mask;
        const len = Math.min(dist(this.head, this.consumed), this.size - pos, DELIVER_MAX);
        const chunk = this.#chunk(len);
        this.#ring.copy(chunk, 0, pos, pos + len);
        this.consumed = advance(this.consumed, len);
        if (!reader.data(chunk)) this.#paused = true;
      }
      if (this.eof && !this.eofDelivered && this.consumed === this.head && reader.live()) {
        this.eofDelivered = true;
        reader.eof();
      }
    } finally {
      this.#delivering = false;
    }
  }

  /** The reader wants more: true if delivery should run now. */
  resume(): boolean {
    this.#paused = false;
    return !this.#delivering;
  }

  #chunk(len: number): Buffer {
    if (len >= OWN_BUFFER_MIN) return Buffer.allocUnsafeSlow(len);
    if (this.#slabUsed + len > this.#slab.length) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.#slabUsed = 0;
    }
    const chunk = this.#slab.subarray(this.#slabUsed, this.#slabUsed + len);
    this.#slabUsed += (len + 7) & ~7;
    return chunk;
  }

  /**
   * Whether to return credit: when a quarter of the ring (or half the
   * receives) is unannounced, or at once when the peer is blocked and this
   * unblocks it. Never wakes a peer it cannot unblock (no wake-up storm
   * while our reader is paused).
   */
  creditDue(peerBlocked: boolean): CreditDue {
    const bytes = dist(this.consumed, this.announced);
    const recvs = dist(this.reposted, this.announcedReposts);
    if (bytes === 0 && recvs === 0 && !peerBlocked) return 'none';
    if (peerBlocked && this.unread < this.size) return 'wake';
    if (bytes < this.size / 4 && recvs < this.#transport.recvCredits / 2) return 'none';
    return 'quiet';
  }

  /** The credit word now says what we consumed and reposted. */
  markAnnounced(): void {
    this.announced = this.consumed;
    this.announcedReposts = this.reposted;
  }
}
