/**
 * One SDP connection's RDMA machinery: the receive ring the peer writes
 * into, the send mirror we write from, credits both ways, and the progress
 * loop on the completion channel. The stream contract lives in socket.ts;
 * this file only moves bytes and reports what happened through
 * {@link LinkHooks}.
 *
 * Cursor model (all u32, wrapping): the sender's `tail` counts bytes it
 * wrote into the peer's ring; the receiver's `head` counts bytes it was
 * told about (DATA immediates), `consumed` what it has handed to the reader
 * and `announced` what it last wrote into the sender's credit word. Ring
 * positions are `cursor & (size - 1)`. The send mirror has the peer ring's
 * size, and byte `t` of the stream sits at the same position in both, so
 * mirror space is free exactly when the peer returns credit for it.
 * @module
 */
import {
  CompletionBatch,
  type CompletionQueue,
  type MemoryRegion,
  type ProtectionDomain,
  type QueuePair,
  type RecvWr,
  type Registration,
  RegistrationCache,
  type SendWr,
  type cm,
} from '@rdmajs/verbs';

import type { DeviceHandle } from './device.js';
import { sdpError } from './errors.js';
import { CONTROL_RESERVE, CREDIT_BYTES, Kind, MAX_RING, MIN_RING, VERSION, advance, dist, imm, immKind, immValue, validCursor, type Hello } from './protocol.js';

/** Tunables of one connection (defaults suit 1–10 GbE-class links). */
export interface LinkOptions {
  /** Receive ring bytes, a power of two in [4 KiB, 128 MiB]. Default 1 MiB. */
  ringSize?: number;
  /** Receive WQEs (message credits) offered to the peer. Default 136. */
  recvCredits?: number;
  /** Spin this long on the CQ before sleeping (latency vs CPU). Default 0. */
  busyPollUs?: number;
  /**
   * Writes of at least this many bytes are sent straight from the caller's
   * buffer (registered the second time that buffer is written) instead of
   * being copied; their write callback runs once the peer's NIC has them.
   * 0 disables. Default 256 KiB.
   */
  zeroCopyThreshold?: number;
  /** RDMA device (default: the first with an active port). */
  device?: string;
}

/** Throws a TypeError/RangeError naming `method` for a bad {@link LinkOptions} field. */
export function checkLinkOptions(method: string, o: LinkOptions): void {
  const int = (name: keyof LinkOptions, min: number, max: number, pow2 = false) => {
    const v = o[name];
    if (v === undefined) return;
    if (typeof v !== 'number') throw new TypeError(`${method}: ${name} must be a number; got ${typeof v}`);
    if (!Number.isInteger(v) || v < min || v > max || (pow2 && (v & (v - 1)) !== 0)) {
      throw new RangeError(`${method}: ${name} must be ${pow2 ? 'a power of two' : 'an integer'} in [${min}, ${max}]; got ${v}`);
    }
  };
  int('ringSize', MIN_RING, MAX_RING, true);
  int('recvCredits', CONTROL_RESERVE + 1, SEND_WR * 64);
  int('busyPollUs', 0, 1_000_000);
  int('zeroCopyThreshold', 0, 2 ** 32);
  if (o.device !== undefined && typeof o.device !== 'string') throw new TypeError(`${method}: device must be a string`);
}

export interface LinkHooks {
  /** In-order bytes; return false to pause delivery until {@link Link.resume}. */
  data(chunk: Buffer): boolean;
  /** The peer half-closed and all its bytes were delivered. */
  eof(): void;
  /** Send credit (or queue space) came back: blocked writes may go on. */
  writable(): void;
  /** The connection is dead (peer reset, protocol violation, transport error). */
  fail(err: Error): void;
  /**
   * The peer disconnected after its FIN: what it sent is still delivered,
   * but nothing more can be sent.
   */
  peerClosed(): void;
}

const SEND_WR = 256;
const DEFAULT_RING = 1 << 20;
// Zero-copy registration cache per connection. Registering costs a system
// call and pins pages, more than copying one 64 KiB write, so a buffer is
// registered the second time it is written (applications that reuse their
// send buffers, or write the same big payload, pay once); one-off buffers
// keep being copied. Regions are only read locally (no remote rights).
const ZERO_COPY_CACHE = {
  access: [],
  maxEntries: 16,
  maxBytes: 64 << 20, // pinned per connection, cached plus in flight
  maxRegion: 32 << 20, // larger ArrayBuffers are copied, not registered whole
  registerOnUse: 2,
} as const;
// Below this, copying wins: a zero-copy write's callback waits for its
// completion, so a writer that waits for each callback (pipe, drain) has one
// write in flight instead of a ring's worth.
const DEFAULT_ZERO_COPY = 256 * 1024;
const DEFAULT_CREDITS = 128 + CONTROL_RESERVE;
// One DATA batch at most this big, so the receiver can work on one batch
// while the next is on the wire.
const BATCH_MAX = 256 * 1024;
// Bytes handed to the reader per chunk (what net reads at a time).
const DELIVER_MAX = 64 * 1024;
// Small delivered chunks are cut from slabs of this size: one allocation
// per slab instead of one per chunk (as Node's own Buffer pool does).
// Kept under malloc's mmap threshold (128 KiB): a fresh mmap per slab
// costs page faults and zeroing on every byte (half the copy rate).
const SLAB_BYTES = 64 * 1024;
// Chunks at least this big get a buffer of their own.
const OWN_BUFFER_MIN = 16 * 1024;
// DATA messages up to this size go inline (copied into the work request):
// the NIC (or rxe's kernel side) does not read the mirror for them.
const INLINE_MAX = 64;
// Consumed receives are reposted in batches of this many (one verbs call
// instead of one per message); at once when the peer waits for them.
const REPOST_BATCH = 16;
// Completion batches handled back to back before yielding to the event loop.
const DRAIN_BUDGET = 8;
// A data chain asks for a completion at least this often.
const SIGNAL_EVERY = 16;
// How long close() waits for its FIN/ABORT to be acknowledged.
const CLOSE_LINGER_MS = 5000;

/** The local half made before the handshake: its hello goes to the peer. */
export class LocalSide {
  readonly pd: ProtectionDomain;
  readonly cq: CompletionQueue;
  /** Receive ring plus the credit word after it. */
  readonly ring: MemoryRegion;
  readonly ringSize: number;
  readonly recvCredits: number;
  readonly busyPollUs: number;
  readonly zeroCopyThreshold: number;

  constructor(
    readonly dev: DeviceHandle,
    options: LinkOptions,
  ) {
    this.ringSize = options.ringSize ?? DEFAULT_RING;
    this.recvCredits = options.recvCredits ?? DEFAULT_CREDITS;
    this.busyPollUs = options.busyPollUs ?? 0;
    this.zeroCopyThreshold = options.zeroCopyThreshold ?? DEFAULT_ZERO_COPY;
    this.pd = dev.ctx.allocPd();
    try {
      this.cq = dev.ctx.createCq({ entries: SEND_WR + this.recvCredits + 16, channel: dev.channel });
      this.ring = this.pd.allocateMemory(this.ringSize + CREDIT_BYTES, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    } catch (err) {
      this.pd.close();
      throw err;
    }
  }

  hello(): Hello {
    return { version: VERSION, flags: 0, ringSize: this.ringSize, ringAddress: this.ring.address, rkey: this.ring.rkey, recvCredits: this.recvCredits };
  }

  /** QP options for rdma_cm. */
  qpOptions() {
    return {
      sendCq: this.cq,
      recvCq: this.cq,
      cap: { maxSendWr: SEND_WR, maxRecvWr: this.recvCredits, maxSendSge: 1, maxRecvSge: 1, maxInlineData: INLINE_MAX },
    };
  }

  /** Posts the initial receives (QP in INIT, before the peer can send). */
  postReceives(qp: QueuePair): void {
    const wrs: RecvWr[] = new Array(this.recvCredits).fill(EMPTY_RECV);
    qp.postRecv(wrs);
  }

  /** Frees everything (QP, MRs, CQ) and lets go of the device. */
  close(): void {
    this.pd.close();
    this.cq.close();
    this.dev.release();
  }
}

const EMPTY_RECV: RecvWr = { id: 0n };

/** A reused WRITE into the peer's ring: offsets and lengths change per post. */
type RingWrite = SendWr & { sg: [{ mr: MemoryRegion; offset: number; length: number }]; remote: { address: bigint; rkey: number; offset: number } };

/** Error names for completion statuses that end a connection. */
function statusError(status: string): Error {
  if (status === 'RETRY_EXC_ERR' || status === 'RNR_RETRY_EXC_ERR') return sdpError('ETIMEDOUT', 'read', `the peer stopped answering (${status})`);
  return sdpError('ECONNRESET', 'read', `transport error ${status}`);
}

export class Link {
  readonly qp: QueuePair<'ready'>;
  readonly #local: LocalSide;
  readonly #conn: cm.Connection;
  readonly #hooks: LinkHooks;
  readonly #batch = new CompletionBatch(64);

  // Receive side.
  readonly #ring: Buffer;
  readonly #ringMask: number;
  readonly #credit: Uint32Array; // the word the peer writes: [consumed, reposted]
  #head = 0;
  #consumed = 0;
  #announced = 0;
  #reposted = 0;
  #toRepost = 0; // receives consumed, not reposted yet
  readonly #repostBatch: number;
  #announcedReposts = 0;
  #peerBlocked = false;
  #paused = false;
  #delivering = false;
  #eof = false;
  #eofDelivered = false;
  #slab = Buffer.allocUnsafeSlow(0);
  #slabUsed = 0;

  // Send side.
  readonly #mirror: MemoryRegion;
  readonly #mirrorBuf: Buffer;
  readonly #peerSize: number;
  readonly #peerMask: number;
  readonly #peerCredits: number;
  readonly #scratch: Uint32Array; // our credit word, sent inline
  #tail = 0;
  #posted = 0;
  #peerConsumed = 0;
  #sentMsgs = 0;
  #peerReposted = 0;
  #blockedSent = false;
  #creditArrived = false; // a CREDIT answered our BLOCKED: the writer must look again
  #wantControl: number[] = [];
  #finWanted = false;
  #finSent = false;
  #finChain = -1;
  #finAcked = false;
  #finDone: Array<(err?: Error) => void> = [];

  // Send queue accounting: one completion per signaled chain, which also
  // retires the unsignaled work requests posted before it.
  #sqFree = SEND_WR;
  readonly #chainLens = new Uint16Array(SEND_WR);
  #chainsPosted = 0;
  #chainsDone = 0;
  #unsignaled = 0; // work requests posted since the last signaled chain
  #sinceSignal = 0; // data chains since the last signaled one

  // Reused work requests: posting allocates nothing.
  readonly #wrA: RingWrite;
  readonly #wrB: RingWrite & { imm: number };
  readonly #one: SendWr[];
  readonly #two: SendWr[];
  readonly #ctl: SendWr & { imm: number };
  readonly #ctlOne: SendWr[];
  readonly #creditWr: SendWr;
  readonly #creditOnly: SendWr[];
  readonly #creditWake: SendWr[];
  readonly #recvChains: RecvWr[][] = [];

  // Zero-copy sends: WRITEs from the caller's registered buffer, and the
  // write callbacks waiting for the chain that read it to complete. Each
  // such chain holds its registration (#zcHeld, with the chain's number in
  // #zcChains, in posting order) until its completion.
  readonly #zc: RegistrationCache | undefined;
  readonly #zcHeld: Registration[] = [];
  readonly #zcChains: number[] = [];
  readonly #zcA: RingWrite;
  readonly #zcB: RingWrite & { imm: number };
  readonly #zcOne: SendWr[];
  readonly #zcTwo: SendWr[];
  #sentWaiters: Array<{ chain: number; done: (err?: Error) => void }> = [];
  #lastZeroCopy = -1;
  /** Bytes sent by {@link sendZeroCopy}. */
  zeroCopyBytes = 0;
  #processing = false;

  #drainWaiters: Array<() => void> = [];
  // After an early accept: hold every send until the peer is known ready
  // (rdma_cm's confirmation, or its first message).
  #gated: boolean;
  #resetSent = false;
  #dead = false;
  #peerGone = false;
  #closing = false;
  #closed = false;
  #running = false;

  constructor(local: LocalSide, conn: cm.Connection, peer: Hello, hooks: LinkHooks) {
    this.#local = local;
    this.#conn = conn;
    this.qp = conn.qp;
    this.#hooks = hooks;
    this.#ring = local.ring.buffer;
    this.#ringMask = local.ringSize - 1;
    this.#credit = new Uint32Array(this.#ring.buffer, this.#ring.byteOffset + local.ringSize, 2);
    this.#peerSize = peer.ringSize;
    this.#peerMask = peer.ringSize - 1;
    this.#peerCredits = peer.recvCredits;
    // Few receives (a small recvCredits) are given back sooner.
    this.#repostBatch = Math.max(1, Math.min(REPOST_BATCH, (local.recvCredits - CONTROL_RESERVE) >> 2));
    this.#mirror = local.pd.allocateMemory(peer.ringSize + CREDIT_BYTES);
    this.#mirrorBuf = this.#mirror.buffer;
    this.#scratch = new Uint32Array(this.#mirrorBuf.buffer, this.#mirrorBuf.byteOffset + peer.ringSize, 2);

    const target = () => ({ address: peer.ringAddress, rkey: peer.rkey, offset: 0 });
    const sge = () => ({ mr: this.#mirror, offset: 0, length: 0 });
    this.#wrA = { opcode: 'RDMA_WRITE', sg: [sge()], remote: target(), signaled: false };
    this.#wrB = { opcode: 'RDMA_WRITE_WITH_IMM', sg: [sge()], remote: target(), imm: 0, signaled: true };
    this.#one = [this.#wrB];
    this.#two = [this.#wrA, this.#wrB];
    this.#zc = local.zeroCopyThreshold > 0 ? new RegistrationCache(local.pd, ZERO_COPY_CACHE) : undefined;
    this.#zcA = { opcode: 'RDMA_WRITE', sg: [sge()], remote: target(), signaled: false };
    this.#zcB = { opcode: 'RDMA_WRITE_WITH_IMM', sg: [sge()], remote: target(), imm: 0, signaled: true };
    this.#zcOne = [this.#zcB];
    this.#zcTwo = [this.#zcA, this.#zcB];
    this.#ctl = { opcode: 'SEND_WITH_IMM', sg: [], imm: 0, signaled: true };
    this.#ctlOne = [this.#ctl];
    this.#creditWr = {
      opcode: 'RDMA_WRITE',
      sg: [{ mr: this.#mirror, offset: peer.ringSize, length: CREDIT_BYTES }],
      remote: { address: peer.ringAddress, rkey: peer.rkey, offset: peer.ringSize },
      inline: true,
      signaled: true,
    };
    this.#creditOnly = [this.#creditWr];
    this.#creditWake = [{ ...this.#creditWr, signaled: false }, this.#ctl];
    this.#gated = !conn.established;
    if (this.#gated) conn.once('established', () => this.#openGate());
    conn.on('disconnected', () => this.#onDisconnected());
  }

  /** Starts the progress loop (after the socket is wired to the hooks). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#run();
  }

  /** Free bytes in the peer's ring, from the last credit seen. */
  get writableBytes(): number {
    return this.#peerSize - dist(this.#tail, this.#peerConsumed);
  }

  /** Bytes copied in and not posted yet. */
  get unposted(): number {
    return dist(this.#tail, this.#posted);
  }

  /** True when the peer FIN arrived and every byte before it was delivered. */
  get ended(): boolean {
    return this.#eofDelivered;
  }

  /** False once nothing more can be sent (dead, or the peer disconnected). */
  get sendable(): boolean {
    return !this.#dead && !this.#peerGone;
  }

  /**
   * Copies as much of `src[from..]` as the peer has room for into the
   * send mirror; returns how many bytes it took. Posting happens in
   * {@link flush} (batched with other writes of the same tick).
   */
  copyIn(src: Buffer, from: number): number {
    if (!this.sendable) return 0;
    this.#readCredits();
    const room = this.writableBytes;
    let n = Math.min(room, src.length - from);
    let taken = 0;
    while (n > 0) {
      const pos = this.#tail & this.#peerMask;
      const run = Math.min(n, this.#peerSize - pos);
      src.copy(this.#mirrorBuf, pos, from + taken, from + taken + run);
      this.#tail = advance(this.#tail, run);
      taken += run;
      n -= run;
    }
    return taken;
  }

  /**
   * Sends as much of `src[from..]` as credit allows straight from `src`'s
   * memory (no copy), if it is big enough and its region is registered (or
   * worth registering now); returns the bytes taken, 0 to make the caller
   * copy instead. Bytes taken this way must not change until
   * {@link whenSent} reports.
   */
  sendZeroCopy(src: Buffer, from: number): number {
    const zc = this.#zc;
    const want = src.length - from;
    // The write's size decides, not what is left of it: the rest of a big
    // write stays zero-copy after a partial send.
    if (!zc || src.length < this.#local.zeroCopyThreshold || want === 0 || !this.sendable || this.#gated) return 0;
    this.flush();
    // Copied-in bytes go first (DATA counts bytes in stream order).
    if (this.#posted !== this.#tail || this.#sqFree < 2 || this.#msgCredits() <= CONTROL_RESERVE) return 0;
    this.#readCredits();
    const len = Math.min(this.writableBytes, want, BATCH_MAX);
    if (len === 0) return 0;
    const reg = zc.acquire(src);
    if (!reg) return 0;
    this.#zcA.sg[0].mr = this.#zcB.sg[0].mr = reg.mr;
    const wraps = this.#aimData(this.#zcA, this.#zcB, this.#tail & this.#peerMask, len, reg.offset + from, false);
    if (!this.#post(wraps ? this.#zcTwo : this.#zcOne)) {
      // Nothing (or, refused halfway, a flushed part) uses it: the cache
      // never evicts a region while a work request holds it (mr.inflight).
      zc.release(reg);
      return 0;
    }
    this.#lastZeroCopy = this.#chainsPosted - 1; // zero-copy chains are signaled
    this.#zcHeld.push(reg);
    this.#zcChains.push(this.#lastZeroCopy);
    this.#sentMsgs = advance(this.#sentMsgs, 1);
    this.#tail = advance(this.#tail, len);
    this.#posted = this.#tail;
    this.zeroCopyBytes += len;
    return len;
  }

  /**
   * Runs `done` once every zero-copy send so far has completed (the NIC no
   * longer reads the caller's buffers), or with the error that ended the
   * connection.
   */
  whenSent(done: (err?: Error) => void): void {
    // Software RDMA (rxe) often completes inside the post: look once now
    // rather than after the completion channel's wake-up.
    if (this.#lastZeroCopy >= this.#chainsDone && !this.#processing && !this.#dead) {
      const n = this.#local.cq.pollInto(this.#batch);
      if (n > 0) this.#process(n);
    }
    if (this.#lastZeroCopy < this.#chainsDone) return done();
    if (this.#dead) return done(sdpError('EPIPE', 'write', 'the connection is closed'));
    this.#sentWaiters.push({ chain: this.#lastZeroCopy, done });
  }

  /**
   * Aims a DATA message at `len` stream bytes from ring position `pos`:
   * `b` (WRITE_WITH_IMM) alone, or `a` up to the ring's end and `b` for
   * the rest. `src` is where the bytes start in the source region; with
   * `sourceWraps` the source has the ring's layout (the mirror), else it is
   * contiguous (the caller's buffer). Returns whether it takes both.
   */
  #aimData(a: RingWrite, b: RingWrite & { imm: number }, pos: number, len: number, src: number, sourceWraps: boolean): boolean {
    const first = Math.min(len, this.#peerSize - pos);
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

  /** Tells the peer we are waiting for credit (once per blocked episode). */
  blocked(): void {
    if (this.#blockedSent || !this.sendable) return;
    this.#blockedSent = true;
    this.#control(imm(Kind.BLOCKED));
  }

  /** Posts every copied-in byte not yet posted, then queued control messages. */
  flush(): void {
    if (!this.sendable || this.#gated) return;
    while (this.#posted !== this.#tail) {
      // Data leaves CONTROL_RESERVE of the peer's receives for control messages.
      if (this.#msgCredits() <= CONTROL_RESERVE) {
        this.#readCredits();
        if (this.#msgCredits() <= CONTROL_RESERVE) {
          this.blocked();
          break;
        }
      }
      const len = Math.min(dist(this.#tail, this.#posted), BATCH_MAX);
      const pos = this.#posted & this.#peerMask;
      // The mirror has the ring's layout: its bytes sit where they land.
      const wraps = this.#aimData(this.#wrA, this.#wrB, pos, len, pos, true);
      if (this.#sqFree < (wraps ? 2 : 1)) break;
      this.#wrB.inline = !wraps && len <= INLINE_MAX;
      if (!this.#post(wraps ? this.#two : this.#one, true)) return;
      this.#sentMsgs = advance(this.#sentMsgs, 1);
      this.#posted = advance(this.#posted, len);
    }
    while (this.#wantControl.length > 0 && this.#msgCredits() > 0 && this.#sqFree > 0) {
      this.#ctl.imm = this.#wantControl.shift()!;
      if (!this.#post(this.#ctlOne)) return;
      this.#sentMsgs = advance(this.#sentMsgs, 1);
    }
    if (this.#finWanted && !this.#finSent && this.#posted === this.#tail && this.#wantControl.length === 0 && this.#msgCredits() > 0 && this.#sqFree > 0) {
      this.#ctl.imm = imm(Kind.FIN);
      if (!this.#post(this.#ctlOne)) return;
      this.#sentMsgs = advance(this.#sentMsgs, 1);
      this.#finSent = true;
      this.#finChain = this.#chainsPosted - 1;
    }
  }

  /** Sends FIN after all copied-in data; `done` runs once the peer has it. */
  finish(done: (err?: Error) => void): void {
    if (this.#finAcked) return done();
    if (this.#peerGone) return done(); // nobody left to tell; not an error (like a FIN to a closed TCP peer)
    if (this.#dead) return done(sdpError('EPIPE', 'write', 'the connection is closed'));
    this.#finDone.push(done);
    this.#finWanted = true;
    this.flush();
  }

  /** Resumes delivery after the reader caught up. */
  resume(): void {
    this.#paused = false;
    if (this.#delivering || this.#dead) return;
    this.#deliver();
    this.#announce();
  }

  /** Whether the connection keeps the process alive (as `socket.ref()`). */
  ref(): void {
    this.#local.cq.ref();
    this.#conn.ref();
  }

  unref(): void {
    this.#local.cq.unref();
    this.#conn.unref();
  }

  /** Liveness probe: a transport failure surfaces through `fail`. */
  keepalive(): void {
    if (this.sendable) this.#control(imm(Kind.KEEPALIVE));
  }

  /** Bytes that arrived but were not handed to the reader yet. */
  get unread(): number {
    return dist(this.#head, this.#consumed);
  }

  /**
   * Tears down. `abort` tells the peer to reset (it sees ECONNRESET);
   * otherwise it gets a FIN (if not sent yet) before the disconnect, as a
   * closed TCP socket sends one. Resolves once the QP is gone and nothing
   * can touch our memory any more.
   */
  async close(abort: boolean): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.sendable) {
      // Let the last message land before the disconnect (which travels on
      // another path and would overtake it); bounded for a vanished peer.
      if (abort) {
        this.#wantControl.length = 0;
        this.#control(imm(Kind.ABORT));
        await this.#sendsDone(CLOSE_LINGER_MS);
      } else {
        this.#finWanted = true;
        this.flush();
        await this.#sendsDone(CLOSE_LINGER_MS);
      }
    }
    this.#dead = true;
    try {
      await this.#conn.close();
    } finally {
      this.#closed = true;
      // The QP is gone: nothing reads the caller's buffers any more.
      this.#releaseZeroCopy(Infinity);
      this.#zc?.close();
      this.#local.close();
      const gone = sdpError('EPIPE', 'write', 'the connection closed before the peer had all the data');
      this.#finDone.splice(0).forEach((d) => d(gone));
      this.#sentWaiters.splice(0).forEach((w) => w.done(gone));
    }
  }

  // ---- internals ------------------------------------------------------

  #sendsDone(ms: number): Promise<void> {
    if ((this.#chainsDone === this.#chainsPosted && this.#unsignaled === 0) || this.#dead) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this.#drainWaiters.push(finish);
    });
  }

  #msgCredits(): number {
    return dist(advance(this.#peerReposted, this.#peerCredits), this.#sentMsgs);
  }

  #control(i: number): void {
    this.#wantControl.push(i);
    this.flush();
  }

  // Control chains are always signaled; data chains only every
  // SIGNAL_EVERY-th time or when the send queue runs low: fewer completions,
  // fewer wake-ups of the event loop.
  #post(wrs: SendWr[], data = false): boolean {
    let signaled = true;
    if (data) {
      signaled = ++this.#sinceSignal >= SIGNAL_EVERY || this.#sqFree - wrs.length < SEND_WR / 4;
      this.#wrB.signaled = signaled;
    }
    try {
      this.qp.postSend(wrs);
    } catch (err) {
      this.#die(err as Error);
      return false;
    }
    this.#sqFree -= wrs.length;
    this.#unsignaled += wrs.length;
    if (signaled) {
      this.#chainLens[this.#chainsPosted % SEND_WR] = this.#unsignaled;
      this.#chainsPosted++;
      this.#unsignaled = 0;
      this.#sinceSignal = 0;
    }
    return true;
  }

  // Reads the credit word the peer writes. Returns true if it moved.
  #readCredits(): boolean {
    const c = this.#credit[0]!;
    const r = this.#credit[1]!;
    if (c === this.#peerConsumed && r === this.#peerReposted) return false;
    if (!validCursor(c, this.#peerConsumed, this.#tail) || !validCursor(r, this.#peerReposted, this.#sentMsgs)) {
      this.#violation(`credit word out of range (consumed ${c}, tail ${this.#tail}; reposted ${r}, sent ${this.#sentMsgs})`);
      return false;
    }
    this.#peerConsumed = c;
    this.#peerReposted = r;
    return true;
  }

  // The batch is filled and processed in one synchronous step (never left
  // full across an await), so other code may poll it when not #processing.
  async #run(): Promise<void> {
    const cq = this.#local.cq;
    const batch = this.#batch;
    const spinUs = this.#local.busyPollUs;
    let turns = 0;
    while (!this.#dead) {
      try {
        // Spinning holds the thread: let queued microtasks (a socket's
        // batched flush) post their sends first.
        if (spinUs > 0) await undefined;
        let n = cq.pollInto(batch, spinUs);
        if (n === 0) n = cq.armInto(batch);
        if (n === 0) {
          turns = 0;
          await cq.wait();
          continue;
        }
        this.#process(n);
        // A busy connection must not starve timers, rdma_cm events or
        // other sockets: a turn of the event loop every few batches.
        if (++turns >= DRAIN_BUDGET) {
          turns = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (err) {
        if (!this.#dead) this.#die(err as Error);
        return;
      }
    }
  }

  // `draining`: the QP was just flushed (disconnect); flush errors only
  // mark the end of what really arrived.
  #process(n: number, draining = false): void {
    this.#processing = true;
    try {
      this.#processBatch(n, draining);
    } finally {
      this.#processing = false;
    }
  }

  #processBatch(n: number, draining: boolean): void {
    const batch = this.#batch;
    let reposts = 0;
    let sendsDone = 0;
    for (let i = 0; i < n && !this.#dead; i++) {
      if (!batch.ok(i)) {
        if (this.#peerGone || (draining && batch.status(i) === 'WR_FLUSH_ERR')) continue;
        this.#die(statusError(batch.status(i)));
        return;
      }
      const op = batch.opcode(i);
      if (op === 'RECV' || op === 'RECV_RDMA_WITH_IMM') {
        reposts++;
        this.#onMessage(batch.imm(i) ?? 0xffff_ffff, op === 'RECV_RDMA_WITH_IMM');
      } else {
        const k = this.#chainsDone % SEND_WR;
        this.#sqFree += this.#chainLens[k]!;
        if (this.#chainsDone === this.#finChain) {
          this.#finAcked = true;
          this.#finDone.splice(0).forEach((d) => d());
        }
        this.#chainsDone++;
        sendsDone++;
      }
    }
    if (sendsDone > 0 && this.#chainsDone === this.#chainsPosted && this.#unsignaled === 0) this.#drainWaiters.splice(0).forEach((w) => w());
    if (sendsDone > 0 && this.#zcHeld.length > 0) this.#releaseZeroCopy(this.#chainsDone);
    if (sendsDone > 0 && this.#sentWaiters.length > 0) this.#releaseSent();
    if (this.#dead) return;
    if (reposts > 0) {
      this.#toRepost += reposts;
      if (this.#gated) this.#openGate(); // the peer sent: it is ready
    }
    if (this.#toRepost >= this.#repostBatch || (this.#toRepost > 0 && this.#peerBlocked)) this.#repost();
    const moved = this.#readCredits();
    this.#deliver();
    this.flush();
    this.#announce();
    // A CREDIT wakes the writer even when its credit word was read already
    // (by a send completion in between): the writer may have blocked again
    // since, with no BLOCKED of its own outstanding, and would wait forever.
    if ((moved || sendsDone > 0 || this.#creditArrived) && !this.#dead) {
      this.#creditArrived = false;
      this.#hooks.writable();
    }
  }

  #onMessage(i: number, isWrite: boolean): void {
    const kind = immKind(i);
    if (kind === Kind.DATA) {
      const len = immValue(i);
      if (!isWrite) return this.#violation('DATA arrived as a SEND');
      if (len === 0 || dist(this.#head, this.#consumed) + len > this.#ringMask + 1) {
        this.#violation(`DATA of ${len} bytes does not fit the ring (${dist(this.#head, this.#consumed)} unread of ${this.#ringMask + 1})`);
        return;
      }
      if (this.#eof) return this.#violation('DATA after FIN');
      this.#head = advance(this.#head, len);
      // Bytes for a socket that is closing will never be read: reset the
      // peer, as TCP answers data for a closed socket with RST.
      if (this.#closing && !this.#resetSent && this.sendable) {
        this.#resetSent = true;
        this.#wantControl.length = 0;
        this.#control(imm(Kind.ABORT));
      }
      return;
    }
    if (isWrite) return this.#violation(`control message ${kind} carried bytes`);
    switch (kind) {
      case Kind.CREDIT:
        this.#blockedSent = false;
        this.#creditArrived = true;
        return;
      case Kind.BLOCKED:
        this.#peerBlocked = true;
        return;
      case Kind.FIN:
        this.#eof = true;
        return;
      case Kind.ABORT:
        this.#die(sdpError('ECONNRESET', 'read', 'the peer reset the connection'));
        return;
      case Kind.KEEPALIVE:
        return;
      default:
        this.#violation(`unknown message kind ${kind}`);
    }
  }

  #repost(): void {
    const n = this.#toRepost;
    if (!this.sendable || n === 0) return;
    this.#toRepost = 0;
    let wrs = this.#recvChains[n];
    if (!wrs) wrs = this.#recvChains[n] = new Array<RecvWr>(n).fill(EMPTY_RECV);
    try {
      this.qp.postRecv(wrs);
    } catch (err) {
      this.#die(err as Error);
      return;
    }
    this.#reposted = advance(this.#reposted, n);
  }

  #deliver(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (!this.#paused && this.#consumed !== this.#head && !this.#dead && !this.#closing) {
        const pos = this.#consumed & this.#ringMask;
        const len = Math.min(dist(this.#head, this.#consumed), this.#ringMask + 1 - pos, DELIVER_MAX);
        let chunk: Buffer;
        if (len >= OWN_BUFFER_MIN) chunk = Buffer.allocUnsafeSlow(len);
        else {
          if (this.#slabUsed + len > this.#slab.length) {
            this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
            this.#slabUsed = 0;
          }
          chunk = this.#slab.subarray(this.#slabUsed, this.#slabUsed + len);
          this.#slabUsed += (len + 7) & ~7;
        }
        this.#ring.copy(chunk, 0, pos, pos + len);
        this.#consumed = advance(this.#consumed, len);
        if (!this.#hooks.data(chunk)) this.#paused = true;
      }
      if (this.#eof && !this.#eofDelivered && this.#consumed === this.#head && !this.#dead) {
        this.#eofDelivered = true;
        this.#hooks.eof();
      }
    } finally {
      this.#delivering = false;
    }
  }

  // Returns credit to the peer: when a quarter of the ring (or half the
  // receives) is unannounced, or at once when the peer is blocked and this
  // unblocks it. Never wakes a peer it cannot unblock (no wake-up storm
  // while our reader is paused).
  #announce(): void {
    if (!this.sendable || this.#gated) return;
    const bytes = dist(this.#consumed, this.#announced);
    const recvs = dist(this.#reposted, this.#announcedReposts);
    if (bytes === 0 && recvs === 0 && !this.#peerBlocked) return;
    const wake = this.#peerBlocked && dist(this.#head, this.#consumed) < this.#ringMask + 1;
    if (!wake && bytes < (this.#ringMask + 1) / 4 && recvs < this.#local.recvCredits / 2) return;
    const wrs = wake ? this.#creditWake : this.#creditOnly;
    if (this.#sqFree < wrs.length || (wake && this.#msgCredits() === 0)) return; // retried after the next completion
    this.#scratch[0] = this.#consumed;
    this.#scratch[1] = this.#reposted;
    if (wake) this.#ctl.imm = imm(Kind.CREDIT);
    if (!this.#post(wrs)) return;
    if (wake) {
      this.#sentMsgs = advance(this.#sentMsgs, 1);
      this.#peerBlocked = false;
    }
    this.#announced = this.#consumed;
    this.#announcedReposts = this.#reposted;
  }

  // Registrations of zero-copy chains numbered below `done` (completed).
  #releaseZeroCopy(done: number): void {
    const held = this.#zcHeld;
    const chains = this.#zcChains;
    let k = 0;
    while (k < held.length && chains[k]! < done) this.#zc!.release(held[k++]!);
    if (k > 0) {
      held.splice(0, k);
      chains.splice(0, k);
    }
  }

  // Write callbacks of zero-copy sends whose chain completed, in order.
  #releaseSent(): void {
    const w = this.#sentWaiters;
    let k = 0;
    while (k < w.length && w[k]!.chain < this.#chainsDone) k++;
    if (k > 0) w.splice(0, k).forEach((x) => x.done());
  }

  #openGate(): void {
    if (!this.#gated) return;
    this.#gated = false;
    this.flush();
    this.#announce();
    if (!this.#dead) this.#hooks.writable();
  }

  #violation(what: string): void {
    const err = sdpError('EPROTO', 'read', `SDP protocol violation by the peer: ${what}`);
    if (!this.#dead) {
      this.#wantControl.length = 0;
      this.#control(imm(Kind.ABORT));
    }
    this.#die(err);
  }

  #die(err: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    // Our QP stops touching memory once in ERR; the socket closes the rest.
    try {
      if (!this.qp.closed) this.qp.modify({ qpState: 'ERR' });
    } catch {
      /* closing anyway */
    }
    this.#finDone.splice(0).forEach((d) => d(err));
    this.#drainWaiters.splice(0).forEach((w) => w());
    this.#sentWaiters.splice(0).forEach((w) => w.done(err));
    if (!this.#closing) this.#hooks.fail(err);
  }

  #onDisconnected(): void {
    if (this.#closing || this.#closed) return;
    // Completions that arrived before the disconnect (the peer's FIN, its
    // last bytes) count: take them first.
    for (let n = 1; n > 0 && !this.#dead; ) {
      n = this.#local.cq.pollInto(this.#batch);
      if (n > 0) this.#process(n, true);
    }
    if (this.#dead) return;
    if (!this.#eof) {
      this.#die(sdpError('ECONNRESET', 'read', 'the peer disconnected without closing its stream'));
      return;
    }
    // The peer finished its stream and left: deliver what is in the ring,
    // refuse further sends.
    this.#peerGone = true;
    const fin = this.#finSent;
    this.#finDone.splice(0).forEach((d) => (fin ? d() : d(sdpError('EPIPE', 'write', 'the peer closed the connection'))));
    this.#hooks.peerClosed();
  }
}
