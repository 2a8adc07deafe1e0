/**
 * One SDP connection's machinery, composed of parts with one concern each:
 * the receive ring ({@link RecvRing}), the send window and its flush policy
 * ({@link SendWindow}), send-queue accounting ({@link SendLedger}), control
 * messages and FIN ({@link Control}), zero-copy sends
 * ({@link ZeroCopySender}) and the progress loop with the lifecycle state
 * ({@link RunLoop}), all over a small {@link Transport}. This file routes
 * completions and calls between them; the stream contract lives in
 * socket.ts, and what happened is reported through {@link LinkHooks}.
 *
 * Over 300 lines because it is the one place the parts meet: message
 * dispatch, the order of work after each completion batch, and teardown
 * touch several parts at once and read best in one piece.
 * @module
 */
import { sdpError } from '../errors.js';
import { Kind, imm, immKind, immValue, type Hello } from '../protocol.js';
import { Control, type Done } from './control.js';
import { RecvRing, type Reader } from './recv-ring.js';
import { RunLoop } from './run-loop.js';
import { SendLedger } from './send-ledger.js';
import { SendWindow } from './send-window.js';
import type { Transport } from './transport.js';
import { ZeroCopySender } from './zero-copy.js';

/** What a link reports to its socket. */
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

// How long close() waits for its FIN/ABORT to be acknowledged.
const CLOSE_LINGER_MS = 5000;

/** Error names for completion statuses that end a connection. */
function statusError(status: string): Error {
  if (status === 'RETRY_EXC_ERR' || status === 'RNR_RETRY_EXC_ERR') return sdpError('ETIMEDOUT', 'read', `the peer stopped answering (${status})`);
  return sdpError('ECONNRESET', 'read', `transport error ${status}`);
}

export class Link {
  readonly #t: Transport;
  readonly #hooks: LinkHooks;
  readonly #loop: RunLoop;
  readonly #ledger: SendLedger;
  readonly #window: SendWindow;
  readonly #ring: RecvRing;
  readonly #control: Control;
  readonly #zc: ZeroCopySender | undefined;
  readonly #reader: Reader;
  readonly #drainWaiters: Array<() => void> = [];

  constructor(transport: Transport, peer: Hello, hooks: LinkHooks) {
    this.#t = transport;
    this.#hooks = hooks;
    this.#loop = new RunLoop(
      transport,
      (n, draining) => this.#processBatch(n, draining),
      (err) => this.#die(err),
    );
    this.#ledger = new SendLedger(transport, (err) => this.#die(err));
    this.#window = new SendWindow(transport, peer, this.#ledger, (what) => this.#violation(what), () => this.flush());
    this.#ring = new RecvRing(transport);
    this.#control = new Control(this.#window, this.#ledger);
    const registry = transport.zeroCopy;
    this.#zc = registry ? new ZeroCopySender(registry, transport.zeroCopyThreshold, this.#window, this.#ledger) : undefined;
    this.#reader = { data: (chunk) => hooks.data(chunk), eof: () => hooks.eof(), live: () => this.#loop.delivering };
    if (this.#loop.state === 'gated') transport.onEstablished(() => this.#openGate());
    transport.onDisconnected(() => this.#onDisconnected());
  }

  /** Starts the progress loop (after the socket is wired to the hooks). */
  start(): void {
    this.#loop.start();
  }

  /** Free bytes in the peer's ring, from the last credit seen. */
  get writableBytes(): number {
    return this.#window.writableBytes;
  }

  /** True when the peer FIN arrived and every byte before it was delivered. */
  get ended(): boolean {
    return this.#ring.eofDelivered;
  }

  /** False once nothing more can be sent (dead, or the peer disconnected). */
  get sendable(): boolean {
    return this.#loop.sendable;
  }

  /** Bytes that arrived but were not handed to the reader yet. */
  get unread(): number {
    return this.#ring.unread;
  }

  /** Bytes sent zero-copy, straight from the callers' buffers. */
  get zeroCopyBytes(): number {
    return this.#zc?.bytes ?? 0;
  }

  /**
   * Takes as much of `src[from..]` as credit allows and returns the bytes
   * taken: zero-copy DATA messages back to back while they apply and
   * credit lasts (each is one message at most), else copied into the
   * mirror. When not all of it fits, what was taken goes out and the peer
   * is told we are blocked; {@link LinkHooks.writable} says when to go on.
   */
  write(src: Buffer, from: number): number {
    let at = from;
    while (at < src.length) {
      const zc = this.#sendZeroCopy(src, at);
      if (zc > 0) {
        at += zc;
        continue;
      }
      if (this.#loop.sendable) at += this.#window.copyIn(src, at);
      if (at < src.length) {
        this.flush();
        this.#blocked();
      }
      break;
    }
    return at - from;
  }

  // Zero-copy DATA from `src[from..]` when it applies (big enough write,
  // region registered or worth registering now); 0: copy instead. Its
  // bytes must not change until whenSent() reports.
  #sendZeroCopy(src: Buffer, from: number): number {
    const zc = this.#zc;
    if (!zc || !zc.wants(src, from) || !this.#loop.posting) return 0;
    this.flush();
    return this.#loop.posting ? zc.send(src, from) : 0;
  }

  /**
   * Runs `done` once every zero-copy send so far has completed (the NIC no
   * longer reads the caller's buffers), or with the error that ended the
   * connection.
   */
  whenSent(done: Done): void {
    const zc = this.#zc;
    // Software RDMA (rxe) often completes inside the post: look once now
    // rather than after the completion channel's wake-up.
    if (zc?.inFlight && !this.#loop.processing && !this.#loop.stopped) this.#loop.pollNow();
    if (!zc?.inFlight) return done();
    if (this.#loop.stopped) return done(sdpError('EPIPE', 'write', 'the connection is closed'));
    zc.wait(done);
  }

  /** The flush policy for bytes just copied in (see {@link SendWindow.schedule}). */
  flushSoon(noDelay: boolean): void {
    this.#window.schedule(noDelay);
  }

  // Tells the peer we are waiting for credit (once per blocked episode).
  #blocked(): void {
    const c = this.#control;
    if (c.blockedSent || !this.#loop.sendable) return;
    c.blockedSent = true;
    c.push(imm(Kind.BLOCKED));
    this.flush();
  }

  /** Posts every copied-in byte not yet posted, then queued control messages. */
  flush(): void {
    if (!this.#loop.posting) return;
    const r = this.#window.postData();
    if (r === 'failed') return;
    if (r === 'blocked' && !this.#control.blockedSent) {
      this.#control.blockedSent = true;
      this.#control.push(imm(Kind.BLOCKED));
    }
    this.#control.post();
  }

  /** Sends FIN after all copied-in data; `done` runs once the peer has it. */
  finish(done: Done): void {
    if (this.#control.fin === 'acked') return done();
    if (this.#loop.state === 'peerGone') return done(); // nobody left to tell; not an error (like a FIN to a closed TCP peer)
    if (this.#loop.stopped) return done(sdpError('EPIPE', 'write', 'the connection is closed'));
    this.#control.finish(done);
    this.flush();
  }

  /** Resumes delivery after the reader caught up. */
  resume(): void {
    if (!this.#ring.resume() || this.#loop.stopped) return;
    this.#ring.deliver(this.#reader);
    this.#announce();
  }

  /** Whether the connection keeps the process alive (as `socket.ref()`). */
  ref(): void {
    this.#t.ref();
  }

  unref(): void {
    this.#t.unref();
  }

  /** Liveness probe: a transport failure surfaces through `fail`. */
  keepalive(): void {
    if (!this.#loop.sendable) return;
    this.#control.push(imm(Kind.KEEPALIVE));
    this.flush();
  }

  /**
   * Tears down. `abort` tells the peer to reset (it sees ECONNRESET);
   * otherwise it gets a FIN (if not sent yet) before the disconnect, as a
   * closed TCP socket sends one. Resolves once the QP is gone and nothing
   * can touch our memory any more.
   */
  async close(abort: boolean): Promise<void> {
    const loop = this.#loop;
    const s = loop.state;
    if (s === 'closing' || s === 'disconnecting' || s === 'closed') return;
    // Held sends never left while gated: nothing to linger for.
    if (s === 'open') {
      loop.state = 'closing';
      // As TCP resets the peer for data that arrived but was never read,
      // take the completions already here: DATA among them resets it
      // (#onMessage, while closing) instead of the FIN.
      if (!abort && !loop.processing) loop.pollNow();
      // Let the last message land before the disconnect (which travels on
      // another path and would overtake it); bounded for a vanished peer.
      if (abort && !this.#control.resetSent) this.#control.abort();
      else if (!this.#control.resetSent && this.#control.fin === 'none') this.#control.fin = 'wanted';
      this.flush();
      await this.#sendsDone(CLOSE_LINGER_MS);
    }
    loop.state = 'disconnecting';
    try {
      await this.#t.disconnect();
    } finally {
      loop.state = 'closed';
      // The QP is gone: nothing reads the caller's buffers any more.
      const gone = sdpError('EPIPE', 'write', 'the connection closed before the peer had all the data');
      this.#zc?.close(gone);
      this.#t.free();
      this.#control.settle(gone);
    }
  }

  // ---- internals ------------------------------------------------------

  #sendsDone(ms: number): Promise<void> {
    if (this.#ledger.idle || this.#loop.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this.#drainWaiters.push(finish);
    });
  }

  #processBatch(n: number, draining: boolean): void {
    const loop = this.#loop;
    const c = this.#t.completions;
    let reposts = 0;
    let sendsDone = 0;
    for (let i = 0; i < n && !loop.stopped; i++) {
      if (!c.ok(i)) {
        // After the peer left (or a disconnect flushed the QP), errors only
        // mark the end of what really arrived.
        if (loop.state === 'peerGone' || (draining && c.status(i) === 'WR_FLUSH_ERR')) continue;
        this.#die(statusError(c.status(i)));
        return;
      }
      const op = c.opcode(i);
      if (op === 'RECV' || op === 'RECV_RDMA_WITH_IMM') {
        reposts++;
        this.#onMessage(c.imm(i) ?? 0xffff_ffff, op === 'RECV_RDMA_WITH_IMM');
      } else {
        this.#control.chainDone(this.#ledger.complete());
        sendsDone++;
      }
    }
    if (sendsDone > 0) {
      if (this.#drainWaiters.length > 0 && this.#ledger.idle) for (const w of this.#drainWaiters.splice(0)) w();
      this.#zc?.completed(this.#ledger.done);
    }
    if (loop.stopped) return;
    if (reposts > 0) {
      this.#ring.used(reposts);
      if (loop.state === 'gated') this.#openGate(); // the peer sent: it is ready
    }
    if (this.#ring.repostDue(this.#control.peerBlocked)) this.#repost();
    const moved = this.#window.readCredits();
    this.#ring.deliver(this.#reader);
    this.flush();
    this.#announce();
    // A CREDIT wakes the writer even when its credit word was read already
    // (by a send completion in between): the writer may have blocked again
    // since, with no BLOCKED of its own outstanding, and would wait forever.
    if ((moved || sendsDone > 0 || this.#control.creditArrived) && !loop.stopped) {
      this.#control.creditArrived = false;
      this.#hooks.writable();
    }
  }

  #onMessage(i: number, isWrite: boolean): void {
    const kind = immKind(i);
    const control = this.#control;
    if (kind === Kind.DATA) {
      if (!isWrite) return this.#violation('DATA arrived as a SEND');
      const bad = this.#ring.arrived(immValue(i));
      if (bad) return this.#violation(bad);
      // Bytes for a socket that is closing will never be read: reset the
      // peer, as TCP answers data for a closed socket with RST.
      if (this.#loop.state === 'closing' && !control.resetSent) {
        control.resetSent = true;
        control.abort();
        this.flush();
      }
      return;
    }
    if (isWrite) return this.#violation(`control message ${kind} carried bytes`);
    switch (kind) {
      case Kind.CREDIT:
        control.blockedSent = false;
        control.creditArrived = true;
        return;
      case Kind.BLOCKED:
        control.peerBlocked = true;
        return;
      case Kind.FIN:
        this.#ring.eof = true;
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
    if (!this.#loop.sendable) return;
    try {
      this.#ring.repost();
    } catch (err) {
      this.#die(err as Error);
    }
  }

  // Returns credit to the peer when due (RecvRing.creditDue).
  #announce(): void {
    if (!this.#loop.posting) return;
    const due = this.#ring.creditDue(this.#control.peerBlocked);
    if (due === 'none') return;
    if (this.#control.postCredit(due === 'wake', this.#ring.consumed, this.#ring.reposted)) this.#ring.markAnnounced();
  }

  #openGate(): void {
    if (this.#loop.state !== 'gated') return;
    this.#loop.state = 'open';
    this.flush();
    this.#announce();
    if (!this.#loop.stopped) this.#hooks.writable();
  }

  #violation(what: string): void {
    const err = sdpError('EPROTO', 'read', `SDP protocol violation by the peer: ${what}`);
    if (!this.#loop.stopped) {
      this.#control.abort();
      this.flush();
    }
    this.#die(err);
  }

  #die(err: Error): void {
    const loop = this.#loop;
    if (loop.stopped) return;
    const closing = loop.state === 'closing';
    loop.state = closing ? 'disconnecting' : 'dead';
    // Our QP stops touching memory once in ERR; the socket closes the rest.
    this.#t.halt();
    this.#control.settle(err);
    for (const w of this.#drainWaiters.splice(0)) w();
    this.#zc?.fail(err);
    if (!closing) this.#hooks.fail(err);
  }

  #onDisconnected(): void {
    const loop = this.#loop;
    const s = loop.state;
    if (s === 'closing' || s === 'disconnecting' || s === 'closed') return;
    // Completions that arrived before the disconnect (the peer's FIN, its
    // last bytes) count: take them first.
    loop.pollNow(true);
    if (loop.stopped) return;
    if (!this.#ring.eof) {
      this.#die(sdpError('ECONNRESET', 'read', 'the peer disconnected without closing its stream'));
      return;
    }
    // The peer finished its stream and left: deliver what is in the ring,
    // refuse further sends.
    loop.state = 'peerGone';
    const fin = this.#control.fin === 'sent' || this.#control.fin === 'acked';
    this.#control.settle(fin ? undefined : sdpError('EPIPE', 'write', 'the peer closed the connection'));
    this.#hooks.peerClosed();
  }
}
