/**
 * Send-queue accounting. Only some chains ask for a completion (control
 * chains always; data chains every {@link SIGNAL_EVERY}th time or when the
 * queue runs low), and one completion retires its chain plus every
 * unsignaled work request posted before it. Chains are numbered in posting
 * order; parts that wait for a send (FIN, zero-copy buffers) remember the
 * chain's number and compare it with {@link SendLedger.done}.
 * @module
 */
import { SEND_WR } from './options.js';
import type { SendWr, Transport } from './transport.js';

/** A data chain asks for a completion at least this often. */
export const SIGNAL_EVERY = 16;

export class SendLedger {
  /** Free send-queue slots. */
  free: number;
  /** Signaled chains posted so far (the next one gets this number). */
  posted = 0;
  /** Signaled chains completed so far: chain `k` is done when `k < done`. */
  done = 0;
  readonly #depth: number;
  readonly #lens: Uint16Array;
  #unsignaled = 0; // work requests posted since the last signaled chain
  #sinceSignal = 0; // data chains since the last signaled one

  constructor(
    readonly transport: Transport,
    readonly onError: (err: Error) => void,
    depth = SEND_WR,
  ) {
    this.#depth = depth;
    this.free = depth;
    this.#lens = new Uint16Array(depth);
  }

  /** Nothing posted is outstanding. */
  get idle(): boolean {
    return this.done === this.posted && this.#unsignaled === 0;
  }

  /** Number of the last signaled chain posted (-1 before any). */
  get last(): number {
    return this.posted - 1;
  }

  /**
   * Posts `wrs`. A data chain (`data` is its last work request) is signaled
   * only now and then, fewer completions, fewer wake-ups; any other chain
   * must be signaled by its caller. Returns false (after `onError`) when
   * the QP refused it.
   */
  post(wrs: SendWr[], data?: SendWr): boolean {
    let signaled = true;
    if (data) {
      signaled = ++this.#sinceSignal >= SIGNAL_EVERY || this.free - wrs.length < this.#depth / 4;
      data.signaled = signaled;
    }
    try {
      this.transport.postSend(wrs);
    } catch (err) {
      this.onError(err as Error);
      return false;
    }
    this.free -= wrs.length;
    this.#unsignaled += wrs.length;
    if (signaled) {
      this.#lens[this.posted % this.#depth] = this.#unsignaled;
      this.posted++;
      this.#unsignaled = 0;
      this.#sinceSignal = 0;
    }
    return true;
  }

  /** A send completion arrived: retires the oldest signaled chain; returns its number. */
  complete(): number {
    this.free += this.#lens[this.done % this.#depth]!;
    return this.done++;
  }
}
