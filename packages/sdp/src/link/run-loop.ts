/**
 * The progress loop on the completion channel, and the connection's
 * lifecycle as one state: which parts may still act follows from it (may
 * we copy in, post, deliver; is the loop done).
 * @module
 */
import type { Transport } from './transport.js';

// Completion batches handled back to back before yielding to the event loop.
const DRAIN_BUDGET = 8;

/**
 * - `gated`: connected by an early accept; sends are held until the peer
 *   is known ready (rdma_cm's confirmation, or its first message).
 * - `open`: both ways.
 * - `peerGone`: the peer disconnected after its FIN; what it sent is still
 *   delivered, nothing more is sent.
 * - `closing`: close() lingers for its last FIN/ABORT; nothing is delivered.
 * - `dead`: failed (reset, protocol violation, transport error); close() not called yet.
 * - `disconnecting`: close() tears the QP down.
 * - `closed`: everything freed.
 */
export type LinkState = 'gated' | 'open' | 'peerGone' | 'closing' | 'dead' | 'disconnecting' | 'closed';

export class RunLoop {
  state: LinkState;
  #started = false;
  #processing = false;
  readonly #transport: Transport;
  readonly #process: (n: number, draining: boolean) => void;
  readonly #fail: (err: Error) => void;

  /** `process` handles `n` completions in the transport's batch; `fail` ends the connection. */
  constructor(transport: Transport, process: (n: number, draining: boolean) => void, fail: (err: Error) => void) {
    this.#transport = transport;
    this.#process = process;
    this.#fail = fail;
    this.state = transport.established ? 'open' : 'gated';
  }

  /** Nothing moves any more: the loop ends, completions are ignored. */
  get stopped(): boolean {
    const s = this.state;
    return s === 'dead' || s === 'disconnecting' || s === 'closed';
  }

  /** Bytes may still be copied in (maybe held until the gate opens). */
  get sendable(): boolean {
    const s = this.state;
    return s === 'open' || s === 'gated' || s === 'closing';
  }

  /** Sends may be posted now. */
  get posting(): boolean {
    return this.state === 'open' || this.state === 'closing';
  }

  /** Arrived bytes may be handed to the reader. */
  get delivering(): boolean {
    const s = this.state;
    return s === 'open' || s === 'gated' || s === 'peerGone';
  }

  /** Inside {@link process}: the batch is in use. */
  get processing(): boolean {
    return this.#processing;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.#run();
  }

  /**
   * Handles `n` completions now in the batch. The batch is filled and
   * processed in one synchronous step (never left full across an await),
   * so other code may poll it when not {@link processing}.
   */
  process(n: number, draining = false): void {
    this.#processing = true;
    try {
      this.#process(n, draining);
    } finally {
      this.#processing = false;
    }
  }

  /** Takes whatever completions are there now (`draining`: the QP was just flushed). */
  pollNow(draining = false): void {
    for (let n = 1; n > 0 && !this.stopped; ) {
      n = this.#transport.poll();
      if (n > 0) this.process(n, draining);
      if (!draining) return;
    }
  }

  async #run(): Promise<void> {
    const t = this.#transport;
    const spinUs = t.busyPollUs;
    let turns = 0;
    while (!this.stopped) {
      try {
        // Spinning holds the thread: let queued microtasks (a socket's
        // batched flush) post their sends first.
        if (spinUs > 0) await undefined;
        let n = t.poll(spinUs);
        if (n === 0) n = t.arm();
        if (n === 0) {
          turns = 0;
          await t.wait();
          continue;
        }
        this.process(n);
        // A busy connection must not starve timers, rdma_cm events or
        // other sockets: a turn of the event loop every few batches.
        if (++turns >= DRAIN_BUDGET) {
          turns = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (err) {
        if (!this.stopped) this.#fail(err as Error);
        return;
      }
    }
  }
}
