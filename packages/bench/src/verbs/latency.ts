/**
 * The latency tests, structured like perftest's run_iter_lat_* loops.
 *
 * - send_lat: SEND/RECV ping-pong. Each side waits for a receive, reposts
 *   it, and answers; one send in every `-Q` is signaled (perftest: every
 *   one, since its latency tx depth is 1) and its completion reaped before
 *   going on. Small payloads go inline when they fit (`-I`).
 * - write_lat: RDMA WRITE ping-pong. Each side polls the last byte of its
 *   receive area until the peer's write lands there (a sequence number,
 *   1..255, never 0 so stale or untouched memory never matches).
 * - read_lat: one RDMA READ at a time; the server is idle.
 *
 * The client stamps each post (`performance.now()`, the only allocation in
 * these loops: Node 20 has no allocation-free clock); see stats.ts for how
 * the stamps become latencies. The last message of a phase tells the
 * server to stop: SEND_WITH_IMM for send_lat, a flag in the first byte for
 * write_lat (messages of 1 byte: the server counts instead).
 * @module
 */
import { CompletionBatch, type CompletionQueue, type PreparedSends, type RecvWr, type SendWr } from '@rdmajs/verbs';

import { STOP_IMM, failed, type Phase } from './bandwidth.js';
import type { RunParams } from './params.js';
import type { Resources } from './resources.js';
import { Stamps } from './stats.js';
import { CHECK_MASK, type Watchdog } from './watchdog.js';

/** How long one native spin may last before the watchdog looks (µs). */
const SPIN_US = 20_000;

/** Receives reposted per call in send_lat. */
const RECV_CHAIN = 16;

/** What a client phase of a latency test did. */
export interface LatRun {
  /** Iterations done (= valid stamps). */
  count: number;
  stamps: Float64Array;
}

/** Common parts of the three latency tests. */
abstract class PingPong {
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

  /** Waits for one completion of `cq` on the completion channel. */
  protected async sleep(cq: CompletionQueue, batch: CompletionBatch): Promise<void> {
    if (cq.pollInto(batch) === 0) await cq.pollWait(batch);
    if (!batch.ok(0)) failed(this.what, batch, 0);
  }
}

/**
 * send_lat. Receives are kept posted `rxDepth` deep and reposted in chains
 * (one native call per {@link RECV_CHAIN} receives) rather than one call
 * per message as perftest does: in C a post is nearly free, through
 * JavaScript each call has a fixed cost worth amortising.
 */
export class SendPingPong extends PingPong {
  readonly #send: SendWr;
  readonly #stop: SendWr;
  #pSend!: PreparedSends;
  #pStop!: PreparedSends;
  readonly #recvChain: RecvWr[];
  /** Receives consumed and not yet reposted. */
  #deficit = 0;

  constructor(res: Resources, params: RunParams, events: boolean) {
    super(res, params, events);
    const sg = [{ mr: res.mr, offset: res.layout.sendOffset, length: 1 }];
    this.#send = { id: 3n, opcode: 'SEND', sg, signaled: true, inline: false };
    this.#stop = { id: 3n, opcode: 'SEND_WITH_IMM', imm: STOP_IMM, sg, signaled: true, inline: false };
    const recv: RecvWr = { id: 4n, sg: [{ mr: res.mr, offset: res.layout.recvOffset, length: Math.max(...params.sizes) }] };
    const chain = Math.max(1, Math.min(RECV_CHAIN, params.rxDepth >> 1));
    this.#recvChain = new Array<RecvWr>(chain).fill(recv);
    for (let posted = 0; posted + chain <= params.rxDepth; posted += chain) res.qp.postRecv(this.#recvChain);
  }

  /** Notes one consumed receive; reposts a chain when enough are missing. */
  #consumed(): void {
    if (++this.#deficit === this.#recvChain.length) {
      this.res.qp.postRecv(this.#recvChain);
      this.#deficit = 0;
    }
  }

  setSize(size: number, inlineSize: number): void {
    this.#send.sg![0]!.length = size; // shared with #stop
    this.#send.inline = this.#stop.inline = size <= inlineSize && size <= this.res.maxInline;
    // Encoded once per size: a post is one native call, `signaled` flips in place.
    this.#pSend?.close();
    this.#pStop?.close();
    this.#pSend = this.res.qp.prepareSend([this.#send]);
    this.#pStop = this.res.qp.prepareSend([this.#stop]);
  }

  client(phase: Phase): Promise<LatRun> {
    return this.events ? this.#clientEvents(phase) : Promise.resolve(this.#clientBusy(phase));
  }

  server(phase: Phase): Promise<number> {
    return this.events ? this.#serverEvents(phase) : Promise.resolve(this.#serverBusy(phase));
  }

  #clientBusy(phase: Phase): LatRun {
    const { sendCq, recvCq } = this.res;
    const dog = phase.watchdog;
    const until = phase.durationMs > 0 ? performance.now() + phase.durationMs : Infinity;
    let total = phase.durationMs > 0 ? Infinity : phase.total;
    let i = 0;
    for (;;) {
      const last = i + 1 >= total;
      const wr = last ? this.#pStop : this.#pSend;
      const signaled = last || (i + 1) % this.cqMod === 0;
      wr.setSignaled(0, signaled);
      const t = performance.now();
      this.stamps.ensure(i)[i] = t;
      wr.post();
      i++;
      if (signaled) this.spin(sendCq, this.sendBatch, dog, i);
      this.spin(recvCq, this.recvBatch, dog, i);
      this.#consumed();
      if (last) break;
      if (t >= until) total = i + 1;
      if ((i & 1023) === 0) dog.check(i);
    }
    return { count: i, stamps: this.stamps.data };
  }

  async #clientEvents(phase: Phase): Promise<LatRun> {
    const { sendCq, recvCq } = this.res;
    const dog = phase.watchdog.arm();
    const until = phase.durationMs > 0 ? performance.now() + phase.durationMs : Infinity;
    let total = phase.durationMs > 0 ? Infinity : phase.total;
    let i = 0;
    try {
      for (;;) {
        const last = i + 1 >= total;
        const wr = last ? this.#pStop : this.#pSend;
        const signaled = last || (i + 1) % this.cqMod === 0;
        wr.setSignaled(0, signaled);
        const t = performance.now();
        this.stamps.ensure(i)[i] = t;
        wr.post();
        dog.count = ++i;
        if (signaled) await this.sleep(sendCq, this.sendBatch);
        await this.sleep(recvCq, this.recvBatch);
        this.#consumed();
        if (last) break;
        if (t >= until) total = i + 1;
      }
    } finally {
      dog.disarm();
    }
    return { count: i, stamps: this.stamps.data };
  }

  #serverBusy(phase: Phase): number {
    const { sendCq, recvCq } = this.res;
    const dog = phase.watchdog;
    let i = 0;
    for (;;) {
      this.spin(recvCq, this.recvBatch, dog, i);
      const stop = this.recvBatch.imm(0) === STOP_IMM;
      this.#consumed();
      const wr = stop ? this.#pStop : this.#pSend;
      const signaled = stop || (i + 1) % this.cqMod === 0;
      wr.setSignaled(0, signaled);
      wr.post();
      i++;
      if (signaled) this.spin(sendCq, this.sendBatch, dog, i);
      if (stop) return i;
    }
  }

  async #serverEvents(phase: Phase): Promise<number> {
    const { sendCq, recvCq } = this.res;
    const dog = phase.watchdog.arm();
    let i = 0;
    try {
      for (;;) {
        await this.sleep(recvCq, this.recvBatch);
        const stop = this.recvBatch.imm(0) === STOP_IMM;
        this.#consumed();
        const wr = stop ? this.#pStop : this.#pSend;
        const signaled = stop || (i + 1) % this.cqMod === 0;
        wr.setSignaled(0, signaled);
        wr.post();
        dog.count = ++i;
        if (signaled) await this.sleep(sendCq, this.sendBatch);
        if (stop) return i;
      }
    } finally {
      dog.disarm();
    }
  }
}

/** write_lat. */
export class WritePingPong extends PingPong {
  readonly #wr: SendWr;
  #pWr!: PreparedSends;
  /** The whole registered buffer, for polling and stamping bytes. */
  readonly #view: Uint8Array;
  #size = 1;
  /** Sequence number of the last exchange, continued across phases and sizes. */
  #seq = 0;

  constructor(res: Resources, params: RunParams, events: boolean) {
    super(res, params, events);
    const b = res.mr.buffer;
    this.#view = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    this.#wr = {
      id: 5n,
      opcode: 'RDMA_WRITE',
      sg: [{ mr: res.mr, offset: res.layout.sendOffset, length: 1 }],
      remote: { address: res.remote.address, rkey: res.remote.rkey },
      signaled: true,
      inline: false,
    };
  }

  setSize(size: number, inlineSize: number): void {
    this.#size = size;
    this.#wr.sg![0]!.length = size;
    this.#wr.inline = size <= inlineSize && size <= this.res.maxInline;
    this.#pWr?.close();
    this.#pWr = this.res.qp.prepareSend([this.#wr]);
  }

  #next(): number {
    this.#seq = (this.#seq % 255) + 1;
    return this.#seq;
  }

  /** Spins until the peer's write with sequence `seq` has landed. */
  #await(seq: number, dog: Watchdog, count: number): void {
    const view = this.#view;
    const at = this.res.layout.recvOffset + this.#size - 1;
    // Atomics.load: a read the compiler may not hoist out of the loop.
    while (Atomics.load(view, at) !== seq) {
      if ((++this.polls & CHECK_MASK) === 0) dog.check(count);
    }
  }

  client(phase: Phase): Promise<LatRun> {
    const { sendCq } = this.res;
    const dog = phase.watchdog;
    const view = this.#view;
    const flagAt = this.res.layout.sendOffset;
    const seqAt = flagAt + this.#size - 1;
    const flagged = this.#size >= 2;
    const until = phase.durationMs > 0 ? performance.now() + phase.durationMs : Infinity;
    let total = phase.durationMs > 0 ? Infinity : phase.total;
    let i = 0;
    for (;;) {
      const last = i + 1 >= total;
      const seq = this.#next();
      if (flagged) view[flagAt] = last ? 1 : 0;
      view[seqAt] = seq;
      const signaled = last || (i + 1) % this.cqMod === 0;
      this.#pWr.setSignaled(0, signaled);
      const t = performance.now();
      this.stamps.ensure(i)[i] = t;
      this.#pWr.post();
      i++;
      if (signaled) this.spin(sendCq, this.sendBatch, dog, i);
      this.#await(seq, dog, i);
      if (last) break;
      if (t >= until) total = i + 1;
      if ((i & 1023) === 0) dog.check(i);
    }
    return Promise.resolve({ count: i, stamps: this.stamps.data });
  }

  server(phase: Phase): Promise<number> {
    const { sendCq } = this.res;
    const dog = phase.watchdog;
    const view = this.#view;
    const flagAt = this.res.layout.sendOffset;
    const seqAt = flagAt + this.#size - 1;
    const peerFlagAt = this.res.layout.recvOffset;
    const flagged = this.#size >= 2;
    let i = 0;
    for (;;) {
      const seq = this.#next();
      this.#await(seq, dog, i);
      const stop = flagged ? view[peerFlagAt] === 1 : i + 1 >= phase.total;
      if (flagged) view[flagAt] = stop ? 1 : 0;
      view[seqAt] = seq;
      const signaled = stop || (i + 1) % this.cqMod === 0;
      this.#pWr.setSignaled(0, signaled);
      this.#pWr.post();
      i++;
      if (signaled) this.spin(sendCq, this.sendBatch, dog, i);
      if (stop) return Promise.resolve(i);
    }
  }
}

/** read_lat: the client reads, one READ at a time; the server only holds its memory. */
export class ReadPingPong extends PingPong {
  readonly #wr: SendWr;
  #pWr!: PreparedSends;

  constructor(res: Resources, params: RunParams, events: boolean) {
    super(res, params, events);
    this.#wr = {
      id: 6n,
      opcode: 'RDMA_READ',
      sg: [{ mr: res.mr, offset: res.layout.sendOffset, length: 1 }],
      remote: { address: res.remote.address, rkey: res.remote.rkey },
      signaled: true,
    };
  }

  setSize(size: number): void {
    this.#wr.sg![0]!.length = size;
    this.#pWr?.close();
    this.#pWr = this.res.qp.prepareSend([this.#wr]);
  }

  async client(phase: Phase): Promise<LatRun> {
    const { sendCq } = this.res;
    const dog = this.events ? phase.watchdog.arm() : phase.watchdog;
    const until = phase.durationMs > 0 ? performance.now() + phase.durationMs : Infinity;
    const total = phase.durationMs > 0 ? Infinity : phase.total;
    let i = 0;
    try {
      while (i < total) {
        const t = performance.now();
        this.stamps.ensure(i)[i] = t;
        this.#pWr.post();
        i++;
        if (this.events) {
          dog.count = i;
          await this.sleep(sendCq, this.sendBatch);
        } else {
          this.spin(sendCq, this.sendBatch, dog, i);
        }
        if (t >= until) break;
        if ((i & 1023) === 0) dog.check(i);
      }
    } finally {
      dog.disarm();
    }
    return { count: i, stamps: this.stamps.data };
  }

  server(): Promise<number> {
    return Promise.resolve(0);
  }
}
