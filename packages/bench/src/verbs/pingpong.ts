/**
 * The latency tests, structured like perftest's run_iter_lat_* loops:
 * send_lat (send-lat.ts), write_lat (write-lat.ts), read_lat (read-lat.ts).
 * This file holds what they share: the stamps, the spin and sleep waits.
 *
 * The client stamps each post (`performance.now()`, the only allocation in
 * these loops: Node 20 has no allocation-free clock); see stats.ts for how
 * the stamps become latencies. The last message of a phase tells the
 * server to stop: SEND_WITH_IMM for send_lat, a flag in the first byte for
 * write_lat (messages of 1 byte: the server counts instead).
 * @module
 */
import { CompletionBatch, type CompletionQueue } from '@rdmajs/verbs';

import { failed, type Phase } from './phase.js';
import type { RunParams } from './params.js';
import type { Resources } from './resources.js';
import { Stamps } from './stats.js';
import type { Watchdog } from './watchdog.js';

/** How long one native spin may last before the watchdog looks (µs). */
const SPIN_US = 20_000;

/** What a client phase of a latency test did. */
export interface LatRun {
  /** Iterations done (= valid stamps). */
  count: number;
  stamps: Float64Array;
}

/** Common parts of the three latency tests. */
export abstract class PingPong {
  protected readonly res: Resources;
  protected readonly events: boolean;
  protected readonly cqMod: number;
  protected readonly what: string;
  protected readonly sendBatch = new CompletionBatch(1);
  protected readonly recvBatch = new CompletionBatch(1);
  protected readonly stamps: Stamps;
  protected polls = 0;

  constructor(res: Resources, params: RunParams, events: boolean) {
    this.res = res;
    this.events = events;
    this.cqMod = params.cqMod;
    this.what = params.test;
    this.stamps = new Stamps(params.durationS > 0 ? 1 << 16 : Math.max(params.iterations, params.warmup) + 1);
  }

  abstract setSize(size: number, inlineSize: number): void;
  /** The client side of one phase. */
  abstract client(phase: Phase): Promise<LatRun>;
  /** The server side of one phase; returns the iterations it answered. */
  abstract server(phase: Phase): Promise<number>;

  /**
   * Busy-polls one completion out of `cq` into `batch`: the addon spins on
   * the CQ (one crossing per wait, not one per empty poll), coming back to
   * JS every {@link SPIN_US} for the watchdog.
   */
  protected spin(cq: CompletionQueue, batch: CompletionBatch, dog: Watchdog, count: number): void {
    while (cq.pollInto(batch, SPIN_US) === 0) dog.check(count);
    if (!batch.ok(0)) failed(this.what, batch, 0);
  }

  /**
   * The event-driven (-e) phase: resolves once {@link step} returns true.
   * `step` goes as far as completions allow and returns false to wait
   * (having armed the CQ it waits on, see {@link ready}); each CQ's
   * `onWake` listener runs it again, with no Promise per wake-up. (perftest's
   * `-e` blocks in ibv_get_cq_event instead.) The listener and `step` stay
   * the same functions from phase to phase, with the phase's state in
   * fields: a fresh closure per phase made V8 recompile the loop during the
   * measured phase, and on one vCPU its compiler thread took turns with the
   * ping-pong (a ~1.8 ms stall in every hundred iterations).
   */
  protected runEvents(): Promise<void> {
    const { sendCq, recvCq } = this.res;
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
      sendCq.onWake(this.#wake);
      recvCq.onWake(this.#wake);
      this.#wake();
    });
  }

  /** One pass of the event-driven phase: true once it is over. */
  protected step(): boolean {
    throw new Error(`${this.what}: no event-driven loop`);
  }

  #settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;

  readonly #wake = (): void => {
    const settle = this.#settle;
    if (settle === undefined) return;
    let done: boolean;
    try {
      done = this.step();
    } catch (err) {
      this.#stopEvents();
      settle.reject(err);
      return;
    }
    if (!done) return;
    this.#stopEvents();
    settle.resolve();
  };

  #stopEvents(): void {
    this.#settle = undefined;
    this.res.sendCq.onWake(undefined);
    this.res.recvCq.onWake(undefined);
  }

  /**
   * One completion of `cq` in `batch` now; or false with `cq` armed (its
   * next completion wakes the {@link runEvents} loop).
   */
  protected ready(cq: CompletionQueue, batch: CompletionBatch): boolean {
    let n = cq.pollInto(batch);
    if (n === 0) n = cq.armInto(batch);
    if (n === 0) return false;
    if (!batch.ok(0)) failed(this.what, batch, 0);
    return true;
  }

  /** Waits for one completion of `cq` on the completion channel. */
  protected async sleep(cq: CompletionQueue, batch: CompletionBatch): Promise<void> {
    if (cq.pollInto(batch) === 0) await cq.pollWait(batch);
    if (!batch.ok(0)) failed(this.what, batch, 0);
  }
}
