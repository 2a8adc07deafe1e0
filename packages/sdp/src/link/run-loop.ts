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
  #state: LinkState;
  #started = false;
  #processing = false;
  #pending = false; // a pass is queued (spin microtask or budget yield)
  #turns = 0; // batches since the last yield to the event loop
  readonly #transport: Transport;
  readonly #spinUs: number;
  readonly #process: (n: number, draining: boolean) => void;
  readonly #fail: (err: Error) => void;
  readonly #wake = (): void => {
    if (!this.#pending) this.#run(false);
  };
  readonly #pass = (): void => {
    this.#pending = false;
    this.#run(false);
  };
  readonly #spin = (): void => {
    this.#pending = false;
    this.#run(true);
  };

  /** `process` handles `n` completions in the transport's batch; `fail` ends the connection. */
  constructor(transport: Transport, process: (n: number, draining: boolean) => void, fail: (err: Error) => void) {
    this.#transport = transport;
    this.#spinUs = transport.busyPollUs;
    this.#process = process;
    this.#fail = fail;
    this.#state = transport.established ? 'open' : 'gated';
  }

  get state(): LinkState {
    return this.#state;
  }

  /** Entering a stopped state also ends the loop: no more wake-ups. */
  set state(s: LinkState) {
    this.#state = s;
    if (this.#started && this.stopped) this.#transport.onWake(undefined);
  }

  /** Nothing moves any more: the loop ends, completions are ignored. */
  get stopped(): boolean {
    const s = this.#state;
    return s === 'dead' || s === 'disconnecting' || s === 'closed';
  }

  /** Bytes may still be copied in (maybe held until the gate opens). */
  get sendable(): boolean {
    const s = this.#state;
    return s === 'open' || s === 'gated' || s === 'closing';
  }

  /** Sends may be posted now. */
  get posting(): boolean {
    return this.#state === 'open' || this.#state === 'closing';
  }

  /** Arrived bytes may be handed to the reader. */
  get delivering(): boolean {
    const s = this.#state;
    return s === 'open' || s === 'gated' || s === 'peerGone';
  }

  /** Inside {@link process}: the batch is in use. */
  get processing(): boolean {
    return this.#processing;
  }

  start(): void {
    if (this.#started || this.stopped) return;
    this.#started = true;
    this.#transport.onWake(this.#wake);
    this.#run(false);
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

  // One pass of the progress loop, from a wake-up, start(), a spin or a
  // budget yield: batches until the CQ is empty and armed (then the next
  // completion event calls #wake), all callbacks and no Promise per wake.
  #run(spin: boolean): void {
    const t = this.#transport;
    // One arm per pass at most: after a batch the CQ was just emptied, so
    // arm at once (arm() polls once more after arming: one addon call, not
    // two). Once armed, an empty poll ends the pass: a later completion
    // raises an event, or one is pending already.
    let armed = false;
    let first = true;
    try {
      while (!this.stopped) {
        let n = spin ? t.poll(this.#spinUs) : first || armed ? t.poll(0) : 0;
        first = false;
        if (n === 0 && !spin && this.#spinUs > 0) {
          // Spinning holds the thread: let queued microtasks (a socket's
          // batched flush) post their sends first.
          this.#pending = true;
          queueMicrotask(this.#spin);
          return;
        }
        spin = false;
        if (n === 0 && !armed) {
          n = t.arm();
          armed = true;
        }
        if (n === 0) {
          this.#turns = 0;
          return;
        }
        this.process(n);
        // A busy connection must not starve timers, rdma_cm events or
        // other sockets: a turn of the event loop every few batches.
        if (++this.#turns >= DRAIN_BUDGET) {
          this.#turns = 0;
          this.#pending = true;
          setImmediate(this.#pass);
          return;
        }
      }
    } catch (err) {
      if (!this.stopped) this.#fail(err as Error);
    }
  }
}
