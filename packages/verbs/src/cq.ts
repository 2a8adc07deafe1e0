/**
 * Completion queues: where the NIC reports finished work requests; and
 * `Context.createCq()`.
 *
 * Three ways to consume them, from fastest to most convenient:
 * - {@link CompletionQueue.pollInto} fills a reusable {@link CompletionBatch}
 *   (no allocation per completion);
 * - {@link CompletionQueue.poll} returns {@link WorkCompletion} objects;
 * - {@link CompletionQueue.wait} / {@link CompletionQueue.next} /
 *   {@link CompletionQueue.completions} sleep on the event loop until the
 *   NIC signals the queue's {@link CompletionChannel} (no busy thread).
 *
 * A CQ closed while waiters sleep (itself, or by closing its channel or
 * device) rejects them with EBADF: the addon calls the CQ's onClosed
 * function for every object a close() closes.
 * @module
 */
import { CompletionBatch } from './batch.js';
import { CompletionChannel } from './channel.js';
import { assertOpen, instance, int, obj, optInt, show } from './check.js';
import { Context, contextHandle } from './context.js';
import { rdmaError } from './errors.js';
import { native, type NativeCompletionChannel, type NativeCompletionQueue, type NativeResource } from './native.js';
import { VerbsResource, addMethods, handle } from './resource.js';
import type { CqOptions, WaitOptions, WorkCompletion } from './types/completion.js';

/** Longest spin of one poll (the addon's bound too): 10 s. */
const MAX_SPIN_US = 10_000_000;

// Native CQ -> its wrapper, for the onClosed notice (weak: pins nothing).
const queues = new WeakMap<NativeResource, CompletionQueue>();

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** A completion queue (`ibv_cq`). */
export class CompletionQueue extends VerbsResource {
  readonly #native: NativeCompletionQueue;
  /** The device it belongs to. */
  readonly context: Context;
  /** Its completion channel, if created with one (needed for the waiting methods). */
  readonly channel: CompletionChannel | null;
  #waiters: Waiter[] = [];
  #armed = false;
  #batch: CompletionBatch | undefined;
  #bound: CompletionBatch | undefined; // the batch the addon writes into
  #keepAlive = true;
  #refed = false; // whether the addon keeps the event loop alive for us
  #listener: (() => void) | undefined;

  /** @internal Use {@link Context.createCq}. */
  constructor(context: Context, entries: number, channel: CompletionChannel | null, compVector: number) {
    const cq = new native.CompletionQueue(contextHandle(context), entries, channel ? handle<NativeCompletionChannel>(channel) : null, compVector) as NativeCompletionQueue;
    super(cq);
    this.#native = cq;
    this.context = context;
    this.channel = channel;
    if (channel) {
      cq.setHandler(() => this.#onEvent());
      // Closing the CQ, or its channel or device (a native cascade), rejects the waiters.
      queues.set(cq, this);
      cq.setOnClosed(CompletionQueue.#onClosed);
    }
  }

  // A module-level function and a WeakMap: the native side holds no closure
  // over this object.
  static #onClosed(this: NativeResource): void {
    const cq = queues.get(this);
    if (cq) cq.#abortWaiters();
  }

  /** Actual capacity (at least what was asked for). */
  get size(): number {
    return this.#native.size;
  }

  /**
   * Polls up to `batch.capacity` completions into `batch` and returns how
   * many (also in `batch.count`). Never allocates.
   *
   * @param spinUs When the CQ is empty, keep polling it for up to this many
   *   microseconds (inside the addon: one call, however many tries) before
   *   returning 0. Default 0: one look, never blocks. Spinning holds the
   *   JS thread, as busy-polling does in C: for latency loops.
   */
  pollInto(batch: CompletionBatch, spinUs = 0): number {
    if (!(batch instanceof CompletionBatch)) throw new TypeError('ibv_poll_cq: batch must be a CompletionBatch');
    if (spinUs !== 0) int('ibv_poll_cq', 'spinUs', spinUs, 0, MAX_SPIN_US);
    return this.#poll(batch, batch.capacity, spinUs);
  }

  /** Polls up to `max` completions and returns them as objects. Never blocks. */
  poll(max = 16): WorkCompletion[] {
    assertOpen(this.closed, 'ibv_poll_cq', 'CompletionQueue');
    int('ibv_poll_cq', 'max', max, 1, 1 << 20);
    const n = this.#poll(this.#ensureBatch(max), max);
    const batch = this.#batch!;
    const out: WorkCompletion[] = new Array<WorkCompletion>(n);
    for (let i = 0; i < n; i++) out[i] = batch.get(i);
    return out;
  }

  /**
   * Arms the CQ so the next completion signals the channel
   * (`ibv_req_notify_cq`). The waiting methods do this for you.
   */
  requestNotify(solicitedOnly = false): void {
    this.#native.requestNotify(solicitedOnly);
  }

  /**
   * Arms the CQ (`ibv_req_notify_cq`) and polls it once more, in one native
   * call, so completions that landed just before the arming are not missed.
   * When it returns 0 the CQ was empty and is armed: {@link wait} resolves
   * on the next completion. For progress loops that poll and sleep by
   * themselves (pollWait does this for you).
   */
  armInto(batch: CompletionBatch): number {
    if (!(batch instanceof CompletionBatch)) throw new TypeError('ibv_req_notify_cq: batch must be a CompletionBatch');
    const n = this.#arm(batch, batch.capacity); // the addon checks open and channel (EBADF, EINVAL)
    this.#armed = true;
    return n;
  }

  /**
   * Calls `listener` on every completion event of this CQ, from the event
   * loop, with no Promise per wake-up: for progress loops that poll with
   * {@link pollInto}, re-arm with {@link armInto} when it comes back empty,
   * and return (the next event calls `listener` again). A wake-up can be
   * spurious. Replaces the previous listener; `undefined` removes it. While
   * one is set the CQ keeps the process alive, unless {@link unref}'d.
   * When the CQ closes, `listener` is called one last time and removed (its
   * poll then throws `EBADF`).
   * @throws {@link RdmaError} `EINVAL` when the CQ has no completion channel,
   * `EBADF` when closed (setting; removing is always allowed).
   */
  onWake(listener: (() => void) | undefined): void {
    const m = 'CompletionQueue.onWake';
    if (listener !== undefined) {
      assertOpen(this.closed, m, 'CompletionQueue');
      if (!this.channel) throw rdmaError(m, 'EINVAL', 'the CQ was created without a completion channel');
      if (typeof listener !== 'function') throw new TypeError(`${m}: listener must be a function or undefined, got ${show(listener)}`);
    }
    this.#listener = listener;
    this.#syncRef();
  }

  /**
   * Resolves once the CQ holds completions (or the NIC signalled it; a
   * wake-up can be spurious), sleeping on the event loop. Does not consume them.
   */
  wait(options: WaitOptions = {}): Promise<void> {
    const m = 'CompletionQueue.wait';
    try {
      assertOpen(this.closed, m, 'CompletionQueue');
      if (!this.channel) throw rdmaError(m, 'EINVAL', 'the CQ was created without a completion channel');
      obj(m, 'options', options);
      const timeoutMs = optInt(m, 'timeoutMs', options.timeoutMs, -1, 0, 0x7fffffff);
      if (options.signal !== undefined) instance(m, 'signal', options.signal, AbortSignal);
      options.signal?.throwIfAborted();
      if (!this.#armed) {
        this.#native.requestNotify(false);
        this.#armed = true;
      }
      return this.#sleep(timeoutMs, options.signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Event-driven poll: returns as soon as at least one completion is in
   * `batch` (its count), sleeping on the channel in between.
   */
  pollWait(batch: CompletionBatch, options: WaitOptions = {}): Promise<number> {
    if (!(batch instanceof CompletionBatch)) return Promise.reject(new TypeError('CompletionQueue.pollWait: batch must be a CompletionBatch'));
    return this.#pollWait(batch, batch.capacity, options);
  }

  /** Waits for and returns the next single completion (others stay queued). */
  async next(options: WaitOptions = {}): Promise<WorkCompletion> {
    // Each poll is read at once, in the same synchronous step: concurrent
    // next() calls share the internal batch.
    const batch = this.#ensureBatch(1);
    const busyUs = optInt('CompletionQueue.next', 'busyPollUs', options.busyPollUs, 0, 0, MAX_SPIN_US);
    if (this.#poll(batch, 1, busyUs) > 0) return batch.get(0);
    for (;;) {
      if (!this.#armed && this.channel && !this.closed) {
        this.#armed = true;
        if (this.#arm(batch, 1) > 0) return batch.get(0);
      }
      await this.wait(options);
      if (this.#poll(batch, 1) > 0) return batch.get(0);
    }
  }

  // Polls up to `max`; if none, (busy-polls, then) arms and sleeps until
  // something arrives.
  async #pollWait(batch: CompletionBatch, max: number, options: WaitOptions): Promise<number> {
    const busyUs = optInt('CompletionQueue.pollWait', 'busyPollUs', options.busyPollUs, 0, 0, MAX_SPIN_US);
    let n = this.#poll(batch, max, busyUs);
    if (n > 0) return n;
    for (;;) {
      if (!this.#armed && this.channel && !this.closed) {
        this.#armed = true;
        // Completions that landed before arming raise no event: arm() looks again.
        n = this.#arm(batch, max);
        if (n > 0) return n;
      }
      await this.wait(options);
      n = this.#poll(batch, max);
      if (n > 0) return n;
    }
  }

  /**
   * Async iterator over completions, forever (until the CQ closes or the
   * signal aborts), event-driven: `for await (const wc of cq.completions())`.
   */
  async *completions(options: WaitOptions = {}): AsyncGenerator<WorkCompletion, void, undefined> {
    const batch = new CompletionBatch(32);
    for (;;) {
      let n: number;
      try {
        n = await this.pollWait(batch, options);
      } catch (err) {
        if (this.closed && (err as { code?: string }).code === 'EBADF') return;
        throw err;
      }
      for (let i = 0; i < n; i++) yield batch.get(i);
    }
  }

  /**
   * Pending waits keep the process alive (the default), like a socket does.
   * Harmless when closed.
   */
  ref(): this {
    this.#keepAlive = true;
    this.#syncRef();
    return this;
  }

  /** Pending waits no longer keep the process alive (like `socket.unref()`). */
  unref(): this {
    this.#keepAlive = false;
    this.#syncRef();
    return this;
  }

  /** Closes the CQ and, first, the QPs that use it. Pending waits reject with EBADF. */
  override close(): void {
    super.close();
  }

  #abortWaiters(): void {
    const err = rdmaError('CompletionQueue.wait', 'EBADF', 'CompletionQueue was closed while waiting');
    // The listener hears once more (not inside the close() that got here):
    // its next poll reports EBADF, as a waiter's rejection does.
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener) queueMicrotask(listener);
    this.#release().forEach((w) => w.reject(err));
  }

  #poll(batch: CompletionBatch, max: number, spinUs = 0): number {
    if (this.#bound !== batch) {
      this.#native.bindBatch(batch.ids, batch.fields);
      this.#bound = batch;
    }
    const n = this.#native.poll(max, spinUs);
    batch.count = n;
    return n;
  }

  // Arms the CQ and polls once more, in one native call.
  #arm(batch: CompletionBatch, max: number): number {
    if (this.#bound !== batch) {
      this.#native.bindBatch(batch.ids, batch.fields);
      this.#bound = batch;
    }
    const n = this.#native.arm(max);
    batch.count = n;
    return n;
  }

  #ensureBatch(n: number): CompletionBatch {
    if (!this.#batch || this.#batch.capacity < n) this.#batch = new CompletionBatch(Math.max(n, 16));
    return this.#batch;
  }

  #sleep(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (err) => {
          cleanup();
          reject(err);
        },
      };
      const drop = (err: unknown) => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        this.#syncRef();
        waiter.reject(err);
      };
      const onAbort = () => drop(signal!.reason);
      if (timeoutMs >= 0) {
        timer = setTimeout(() => drop(rdmaError('CompletionQueue.wait', 'ETIMEDOUT', `no completion within ${timeoutMs} ms`)), timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#syncRef();
    });
  }

  #onEvent(): void {
    this.#armed = false;
    if (this.#waiters.length > 0) this.#release().forEach((w) => w.resolve());
    this.#listener?.();
  }

  #release(): Waiter[] {
    const waiters = this.#waiters;
    this.#waiters = [];
    this.#syncRef();
    return waiters;
  }

  // The addon keeps the event loop alive while someone waits (a waiter or
  // a listener) and ref() holds; told only on change, not per wake-up.
  #syncRef(): void {
    if (this.closed) return;
    const want = this.#keepAlive && (this.#waiters.length > 0 || this.#listener !== undefined);
    if (want === this.#refed) return;
    this.#refed = want;
    if (want) this.#native.ref();
    else this.#native.unref();
  }
}

declare module './context.js' {
  interface Context {
    /**
     * Creates a completion queue (`ibv_create_cq`), where work completions of
     * the QPs that use it arrive.
     * @throws RangeError for `entries` out of range; {@link RdmaError} `EBADF`
     * when closed, `EINVAL` when `entries` exceeds {@link DeviceAttributes.maxCqe}.
     */
    createCq(options?: CqOptions): CompletionQueue;
  }
}

addMethods(Context, {
  createCq(options: CqOptions = {}): CompletionQueue {
    const m = 'ibv_create_cq';
    assertOpen(this.closed, m, 'Context');
    const o = obj<CqOptions>(m, 'options', options);
    const entries = optInt(m, 'entries', o.entries, 256, 1, 0x7fffffff);
    const vector = optInt(m, 'compVector', o.compVector, 0, 0, 0x7fffffff);
    if (o.channel !== undefined && !(o.channel instanceof CompletionChannel)) {
      throw new TypeError(`${m}: channel must be a CompletionChannel`);
    }
    return new CompletionQueue(this, entries, o.channel ?? null, vector);
  },
});
