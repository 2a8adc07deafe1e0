/**
 * What both roles of a rendezvous share: the public {@link Rendezvous}
 * interface, and the `Session` base class that implements its state
 * machine once (one pending round with its timeout, a failure that sticks,
 * the abort signal, the departure listener, idempotent teardown). Rank 0's
 * side is root-session.ts, the other ranks' client-session.ts; size 1 is
 * `SoloSession` here.
 * @module
 */
import { MpError } from '../errors.js';
import type { HostPort } from '../types.js';
import { jsonValue, type Checked } from './rendezvous-options.js';
import { aborted } from './rendezvous-protocol.js';

/**
 * An open rendezvous session. Rounds are collective: every rank calls the
 * same sequence of {@link allgather}/{@link barrier}, one at a time. Once an
 * operation fails the session is dead and later ones reject with the same
 * error; {@link close} always resolves.
 */
export interface Rendezvous {
  /** This process's rank; rank 0 is the root that serves the exchange. */
  readonly rank: number;
  /** Number of ranks taking part. */
  readonly size: number;
  /** Rank 0: where it listens (with the real port when it asked for port 0). Others: the root they connected to. */
  readonly address: HostPort | undefined;
  /**
   * Sends `payload` (JSON) and resolves with every rank's, indexed by rank
   * (this rank's as it went through JSON, so all ranks see identical tables).
   * @throws TypeError (synchronously) when `payload` is not JSON-able; RangeError when it exceeds `maxFrameBytes`.
   * Rejects with MpError `'ETIMEDOUT'` (rank 0: naming the ranks that never connected or never joined the
   * round; others: naming the root address), `'EINVAL'` (duplicate rank, size mismatch, calls out of turn,
   * a table over `maxFrameBytes`), `'EPEERDEAD'` (a rank or the root went away), `'EPROTO'` (a malformed frame),
   * `'ECANCELED'` (the signal fired), `'ECLOSED'` (after {@link close}).
   */
  allgather(payload: unknown): Promise<unknown[]>;
  /** Resolves once every rank has called `barrier()`. Rejects like {@link allgather}. */
  barrier(): Promise<void>;
  /**
   * Calls `listener` when a rank's session ends while this one is open:
   * `clean` when it closed on purpose ({@link close}), not when its process
   * died or its connection broke. Rank 0 sees every rank and tells the
   * others; the others see rank 0 itself. The job's failure detector: a rank
   * that dies mid-computation is known everywhere within a round trip.
   */
  onDeparture(listener: DepartureListener): void;
  /** Closes the sockets (after flushing what was sent) and the listener; never rejects. Idempotent. */
  close(): Promise<void>;
}

/** See {@link Rendezvous.onDeparture}. */
export type DepartureListener = (rank: number, clean: boolean, detail: string) => void;

/** The operation in flight: how to settle it, and its deadline timer. */
export interface Pending<T> {
  resolve(value: T): void;
  reject(err: MpError): void;
  timer: NodeJS.Timeout;
}

/** State and teardown both roles share: one pending operation, a failure that sticks, the abort signal. */
export abstract class Session implements Rendezvous {
  readonly rank: number;
  readonly size: number;
  abstract readonly address: HostPort | undefined;
  protected readonly opts: Checked;
  protected pending: Pending<unknown[]> | undefined;
  protected failure: MpError | undefined;
  protected closing = false;
  /** Index of the next round. */
  protected roundNo = 0;
  #teardown: Promise<void> | undefined;
  #onAbort: (() => void) | undefined;
  #departure: DepartureListener | undefined;

  constructor(opts: Checked) {
    this.rank = opts.rank;
    this.size = opts.size;
    this.opts = opts;
    if (opts.signal !== undefined) {
      const signal = opts.signal;
      this.#onAbort = () => this.fail(aborted(signal));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  allgather(payload: unknown): Promise<unknown[]> {
    const value = jsonValue(payload, this.opts.maxFrameBytes);
    return this.round(value, Date.now() + this.opts.timeoutMs);
  }

  async barrier(): Promise<void> {
    await this.round(null, Date.now() + this.opts.timeoutMs);
  }

  onDeparture(listener: DepartureListener): void {
    if (typeof listener !== 'function') throw new TypeError('onDeparture: listener must be a function');
    this.#departure = listener;
  }

  /** Reports a rank's departure to the listener, unless this session is closing. */
  protected departed(rank: number, clean: boolean, detail: string): void {
    if (this.closing) return;
    this.#departure?.(rank, clean, detail);
  }

  close(): Promise<void> {
    this.closing = true;
    this.pending?.reject(new MpError({ code: 'ECLOSED' }, 'the rendezvous was closed during a round'));
    this.#settle();
    return this.teardown();
  }

  /** Runs one round with `value` (already JSON-checked) until `deadline` (ms since the epoch). */
  round(value: unknown, deadline: number): Promise<unknown[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new MpError({ code: 'ECLOSED' }, 'the rendezvous is closed'));
    if (this.pending !== undefined) return Promise.reject(new MpError({ code: 'EINVAL' }, 'one rendezvous round at a time'));
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(this.timeoutError(deadline)), Math.max(0, deadline - Date.now()));
      this.pending = { resolve, reject, timer };
      try {
        this.start(value);
      } catch (err) {
        // E.g. a payload just under the bound whose frame is over it: this round never started.
        this.#settle();
        reject(err as MpError);
      }
    });
  }

  /** Resolves the pending round with `table` and moves to the next round. */
  protected complete(table: unknown[]): void {
    const pending = this.pending;
    this.#settle();
    this.roundNo++;
    pending?.resolve(table);
  }

  /** Fails the session for good: rejects the pending round, remembers `err`, closes everything. */
  fail(err: MpError): void {
    if (this.failure !== undefined || this.closing) return;
    this.failure = err;
    const pending = this.pending;
    this.#settle();
    pending?.reject(err);
    void this.teardown();
  }

  /** Forgets the pending round and stops its timer (its promise is the caller's to settle). */
  #settle(): void {
    if (this.pending !== undefined) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  protected teardown(): Promise<void> {
    if (this.#teardown === undefined) {
      if (this.#onAbort !== undefined) this.opts.signal?.removeEventListener('abort', this.#onAbort);
      this.#teardown = this.release();
    }
    return this.#teardown;
  }

  /** Sends this rank's part of the current round. */
  protected abstract start(value: unknown): void;
  /** The error when the current round's deadline passes. */
  protected abstract timeoutError(deadline: number): MpError;
  /** Closes sockets and listener; resolves when they are closed. */
  protected abstract release(): Promise<void>;
}

/** Size 1: every round is this rank's own payload. */
export class SoloSession extends Session {
  readonly address: HostPort | undefined;

  constructor(opts: Checked) {
    super(opts);
    this.address = opts.root;
  }

  protected start(value: unknown): void {
    this.complete([value]);
  }

  protected timeoutError(): MpError {
    return new MpError({ code: 'ETIMEDOUT' }, 'unreachable');
  }

  protected release(): Promise<void> {
    return Promise.resolve();
  }
}
