/**
 * Completion queues: where the NIC reports finished work requests.
 *
 * Three ways to consume them, from fastest to most convenient:
 * - {@link CompletionQueue.pollInto} fills a reusable {@link CompletionBatch}
 *   (no allocation per completion);
 * - {@link CompletionQueue.poll} returns {@link WorkCompletion} objects;
 * - {@link CompletionQueue.wait} / {@link CompletionQueue.next} /
 *   {@link CompletionQueue.completions} sleep on the event loop until the
 *   NIC signals the queue's {@link CompletionChannel} (no busy thread).
 * @module
 */
import { assertOpen, instance, int, obj, optInt } from './check.js';
import { WC_FIELD, WC_FIELDS, WC_FLAGS, WC_OPCODE_NAME, WC_STATUS_NAME, WC_STATUS_TEXT, type WcOpcode, type WcStatus } from './constants.js';
import type { Context } from './device.js';
import { rdmaError } from './errors.js';
import { native, type NativeCompletionChannel, type NativeCompletionQueue } from './native.js';

/** Longest spin of one poll (the addon's bound too): 10 s. */
const MAX_SPIN_US = 10_000_000;

// Field indexes inside one completion of a batch (WC_FIELD: native/src/layouts.h).
const {
  STATUS: F_STATUS,
  OPCODE: F_OPCODE,
  VENDOR_ERR: F_VENDOR_ERR,
  BYTE_LEN: F_BYTE_LEN,
  IMM: F_IMM,
  QP_NUM: F_QP_NUM,
  SRC_QP: F_SRC_QP,
  FLAGS: F_FLAGS,
  PKEY_INDEX: F_PKEY_INDEX,
  SLID: F_SLID,
  SL: F_SL,
  DLID_PATH_BITS: F_DLID_PATH_BITS,
} = WC_FIELD;

/** A finished work request, as an object (see {@link CompletionBatch} for the allocation-free form). */
export interface WorkCompletion {
  /** The `id` given when the work request was posted. */
  id: bigint;
  /**
   * `'SUCCESS'`, or why the work request failed (see {@link wcStatusText}).
   * After an error the QP is in ERR and its other requests flush with `'WR_FLUSH_ERR'`.
   */
  status: WcStatus;
  /** True when `status === 'SUCCESS'`. */
  ok: boolean;
  /** What completed. Undefined by the verbs spec when the status is an error. */
  opcode: WcOpcode;
  /** Bytes received (receives) or read/atomically fetched. */
  byteLen: number;
  /** Immediate data (host byte order) when the peer sent one, else undefined. */
  imm: number | undefined;
  /** Local QP number the completion belongs to. */
  qpNum: number;
  /** Source QP (UD receives). */
  srcQp: number;
  /** Raw `IBV_WC_*` flags. */
  wcFlags: number;
  /** Provider-specific error detail. */
  vendorErr: number;
  /** UD receives: partition key index. */
  pkeyIndex: number;
  /** UD receives: source LID (0 on RoCE). */
  slid: number;
  /** UD receives: service level. */
  sl: number;
  /** UD receives: destination LID path bits. */
  dlidPathBits: number;
}

/**
 * A reusable batch of completions in typed arrays, filled by
 * {@link CompletionQueue.pollInto}. Read entry `i < count` with the accessors.
 */
export class CompletionBatch {
  /** Work request ids, one per entry. */
  readonly ids: BigUint64Array;
  /** Raw fields, {@link CompletionBatch.FIELDS} per entry. */
  readonly fields: Uint32Array;
  /** Entries the last poll filled. */
  count = 0;
  /** Number of u32 fields per completion. */
  static readonly FIELDS = WC_FIELDS;

  /** @param capacity Most completions one poll returns. Default 64. */
  constructor(readonly capacity = 64) {
    int('CompletionBatch', 'capacity', capacity, 1, 1 << 20);
    this.ids = new BigUint64Array(capacity);
    this.fields = new Uint32Array(capacity * WC_FIELDS);
  }

  /** Work request id of entry `i`. */
  id(i: number): bigint {
    return this.ids[i]!;
  }
  /** Status of entry `i`. */
  status(i: number): WcStatus {
    return WC_STATUS_NAME[this.fields[i * WC_FIELDS + F_STATUS]!]!;
  }
  /** True when entry `i` succeeded. */
  ok(i: number): boolean {
    return this.fields[i * WC_FIELDS + F_STATUS] === 0;
  }
  /** Opcode of entry `i`. */
  opcode(i: number): WcOpcode {
    return WC_OPCODE_NAME[this.fields[i * WC_FIELDS + F_OPCODE]!]!;
  }
  /** Byte count of entry `i`. */
  byteLen(i: number): number {
    return this.fields[i * WC_FIELDS + F_BYTE_LEN]!;
  }
  /** Immediate data of entry `i`, or undefined. */
  imm(i: number): number | undefined {
    const base = i * WC_FIELDS;
    return (this.fields[base + F_FLAGS]! & WC_FLAGS.WITH_IMM) !== 0 ? this.fields[base + F_IMM] : undefined;
  }
  /** Local QP number of entry `i`. */
  qpNum(i: number): number {
    return this.fields[i * WC_FIELDS + F_QP_NUM]!;
  }
  /** Entry `i` as an object (allocates). */
  get(i: number): WorkCompletion {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`CompletionBatch.get: index ${i} out of [0, ${this.count})`);
    const base = i * WC_FIELDS;
    const f = this.fields;
    const status = this.status(i);
    return {
      id: this.ids[i]!,
      status,
      ok: status === 'SUCCESS',
      opcode: this.opcode(i),
      byteLen: f[base + F_BYTE_LEN]!,
      imm: this.imm(i),
      qpNum: f[base + F_QP_NUM]!,
      srcQp: f[base + F_SRC_QP]!,
      wcFlags: f[base + F_FLAGS]!,
      vendorErr: f[base + F_VENDOR_ERR]!,
      pkeyIndex: f[base + F_PKEY_INDEX]!,
      slid: f[base + F_SLID]!,
      sl: f[base + F_SL]!,
      dlidPathBits: f[base + F_DLID_PATH_BITS]!,
    };
  }
}

/** A human-readable text for a completion status (`ibv_wc_status_str`). */
export function wcStatusText(status: WcStatus): string {
  return WC_STATUS_TEXT[WC_STATUS_NAME.indexOf(status)] ?? status;
}

/** Options of the waiting methods. */
export interface WaitOptions {
  /** Reject with ETIMEDOUT after this many milliseconds. */
  timeoutMs?: number;
  /** Reject with the signal's reason when aborted. */
  signal?: AbortSignal;
  /**
   * Spin on the CQ for up to this many microseconds before sleeping on the
   * channel: lower latency for a burned core. Default 0.
   */
  busyPollUs?: number;
}

/** A completion channel (`ibv_comp_channel`), watched by the libuv loop. */
export class CompletionChannel implements Disposable {
  /** @internal */ readonly _native: NativeCompletionChannel;
  /** The device it belongs to. */
  readonly context: Context;

  /** @internal Use {@link Context.createCompletionChannel}. */
  constructor(context: Context) {
    this.context = context;
    this._native = new native.CompletionChannel(context._native);
  }

  /** True once closed. */
  get closed(): boolean {
    return this._native.closed;
  }

  /** Closes the channel and, first, the CQs that use it. Harmless when already closed. */
  close(): void {
    this._native.close();
    abortClosedWaiters();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

// CQs with pending waiters. Closing any ancestor closes the CQ natively
// without the CQ's TS object hearing of it; every close() sweeps this set so
// such waiters reject (EBADF) instead of hanging.
const waitingQueues = new Set<CompletionQueue>();

/** @internal Rejects the waiters of every CQ that has been closed. */
export function abortClosedWaiters(): void {
  for (const cq of waitingQueues) if (cq.closed) cq._abortWaiters();
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** A completion queue (`ibv_cq`). */
export class CompletionQueue implements Disposable {
  /** @internal */ readonly _native: NativeCompletionQueue;
  /** The device it belongs to. */
  readonly context: Context;
  /** Its completion channel, if created with one (needed for the waiting methods). */
  readonly channel: CompletionChannel | null;
  #waiters: Waiter[] = [];
  #armed = false;
  #batch: CompletionBatch | undefined;
  #bound: CompletionBatch | undefined; // the batch the addon writes into
  #keepAlive = true;

  /** @internal Use {@link Context.createCq}. */
  constructor(context: Context, entries: number, channel: CompletionChannel | null, compVector: number) {
    this.context = context;
    this.channel = channel;
    this._native = new native.CompletionQueue(context._native, entries, channel?._native ?? null, compVector);
    if (channel) this._native.setHandler(() => this.#onEvent());
  }

  /** True once closed. */
  get closed(): boolean {
    return this._native.closed;
  }

  /** Actual capacity (at least what was asked for). */
  get size(): number {
    return this._native.size;
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
    this._native.requestNotify(solicitedOnly);
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
        this._native.requestNotify(false);
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
    if (this.#waiters.length > 0 && !this.closed) this._native.ref();
    return this;
  }

  /** Pending waits no longer keep the process alive (like `socket.unref()`). */
  unref(): this {
    this.#keepAlive = false;
    if (!this.closed) this._native.unref();
    return this;
  }

  /** Closes the CQ and, first, the QPs that use it. Pending waits reject with EBADF. */
  close(): void {
    this._native.close();
    abortClosedWaiters();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  _abortWaiters(): void {
    const err = rdmaError('CompletionQueue.wait', 'EBADF', 'CompletionQueue was closed while waiting');
    this.#release().forEach((w) => w.reject(err));
  }

  #poll(batch: CompletionBatch, max: number, spinUs = 0): number {
    if (this.#bound !== batch) {
      this._native.bindBatch(batch.ids, batch.fields);
      this.#bound = batch;
    }
    const n = this._native.poll(max, spinUs);
    batch.count = n;
    return n;
  }

  // Arms the CQ and polls once more, in one native call.
  #arm(batch: CompletionBatch, max: number): number {
    if (this.#bound !== batch) {
      this._native.bindBatch(batch.ids, batch.fields);
      this.#bound = batch;
    }
    const n = this._native.arm(max);
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
        if (this.#waiters.length === 0) this.#idle();
        waiter.reject(err);
      };
      const onAbort = () => drop(signal!.reason);
      if (timeoutMs >= 0) {
        timer = setTimeout(() => drop(rdmaError('CompletionQueue.wait', 'ETIMEDOUT', `no completion within ${timeoutMs} ms`)), timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.#waiters.length === 0) {
        if (this.#keepAlive) this._native.ref();
        waitingQueues.add(this);
      }
      this.#waiters.push(waiter);
    });
  }

  #onEvent(): void {
    this.#armed = false;
    this.#release().forEach((w) => w.resolve());
  }

  #release(): Waiter[] {
    const waiters = this.#waiters;
    this.#waiters = [];
    this.#idle();
    return waiters;
  }

  #idle(): void {
    waitingQueues.delete(this);
    if (!this.closed) this._native.unref();
  }
}
