/**
 * Zero-copy sends: DATA written straight from the caller's registered
 * buffer instead of the mirror. Each such chain holds its registration
 * until its completion, and the write callbacks wait for the chain that
 * read their bytes.
 * @module
 */
import { CONTROL_RESERVE, advance } from '../protocol.js';
import type { Done } from './control.js';
import type { SendLedger } from './send-ledger.js';
import { BATCH_MAX, type RingWrite, type RingWriteImm, type SendWindow } from './send-window.js';
import type { SendWr, ZeroCopyRegistration, ZeroCopyRegistry } from './transport.js';

export class ZeroCopySender {
  /** Bytes sent zero-copy. */
  bytes = 0;
  /** Number of the last zero-copy chain (-1: none yet). */
  last = -1;
  readonly #registry: ZeroCopyRegistry;
  readonly #threshold: number;
  readonly #window: SendWindow;
  readonly #ledger: SendLedger;
  readonly #held: ZeroCopyRegistration[] = [];
  readonly #chains: number[] = []; // chain of each held registration, in posting order
  readonly #waiters: Array<{ chain: number; done: Done }> = [];
  readonly #a: RingWrite;
  readonly #b: RingWriteImm;
  readonly #one: SendWr[];
  readonly #two: SendWr[];

  constructor(registry: ZeroCopyRegistry, threshold: number, window: SendWindow, ledger: SendLedger) {
    this.#registry = registry;
    this.#threshold = threshold;
    this.#window = window;
    this.#ledger = ledger;
    this.#a = window.ringWrite(false);
    this.#b = window.ringWrite(true);
    this.#one = [this.#b];
    this.#two = [this.#a, this.#b];
  }

  /**
   * Whether `src[from..]` is for zero-copy at all. The write's size
   * decides, not what is left of it: the rest of a big write stays
   * zero-copy after a partial send.
   */
  wants(src: Buffer, from: number): boolean {
    return src.length >= this.#threshold && from < src.length;
  }

  /**
   * Sends as much of `src[from..]` as credit allows as one DATA message
   * from `src`'s own memory; returns the bytes taken, 0 to make the caller
   * copy instead. Call it with everything copied in already posted.
   */
  send(src: Buffer, from: number): number {
    const w = this.#window;
    const ledger = this.#ledger;
    // Copied-in bytes go first (DATA counts bytes in stream order).
    if (w.posted !== w.tail || ledger.free < 2 || w.msgCredits() <= CONTROL_RESERVE) return 0;
    w.readCredits();
    const len = Math.min(w.writableBytes, src.length - from, BATCH_MAX);
    if (len === 0) return 0;
    const reg = this.#registry.acquire(src);
    if (!reg) return 0;
    this.#a.sg[0].mr = this.#b.sg[0].mr = reg.mr;
    const wraps = w.aim(this.#a, this.#b, w.tail & w.peerMask, len, reg.offset + from, false);
    if (!ledger.post(wraps ? this.#two : this.#one)) {
      // Nothing (or, refused halfway, a flushed part) uses it: the cache
      // never evicts a region while a work request holds it (mr.inflight).
      this.#registry.release(reg);
      return 0;
    }
    this.last = ledger.last; // zero-copy chains are signaled
    this.#held.push(reg);
    this.#chains.push(this.last);
    w.sentMsgs = advance(w.sentMsgs, 1);
    w.tail = advance(w.tail, len);
    w.posted = w.tail;
    this.bytes += len;
    return len;
  }

  /** Whether a zero-copy chain is still in flight. */
  get inFlight(): boolean {
    return this.last >= this.#ledger.done;
  }

  /** Queues `done` for when every zero-copy chain so far has completed. */
  wait(done: Done): void {
    this.#waiters.push({ chain: this.last, done });
  }

  /** Chains below `done` completed: their registrations go back and their writers are told, in order. */
  completed(done: number): void {
    if (this.#held.length > 0) this.#release(done);
    const w = this.#waiters;
    let k = 0;
    while (k < w.length && w[k]!.chain < done) k++;
    if (k > 0) for (const x of w.splice(0, k)) x.done();
  }

  #release(done: number): void {
    const held = this.#held;
    const chains = this.#chains;
    let k = 0;
    while (k < held.length && chains[k]! < done) this.#registry.release(held[k++]!);
    if (k > 0) {
      held.splice(0, k);
      chains.splice(0, k);
    }
  }

  /** The connection ended: writers still waiting get `err`. */
  fail(err: Error): void {
    for (const x of this.#waiters.splice(0)) x.done(err);
  }

  /** The QP is gone: nothing reads the callers' buffers any more. */
  close(err: Error): void {
    this.#release(Infinity);
    this.fail(err);
  }
}
