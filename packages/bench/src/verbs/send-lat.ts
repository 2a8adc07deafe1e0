/**
 * send_lat: SEND/RECV ping-pong. Each side waits for a receive, reposts it,
 * and answers; one send in every `-Q` is signaled (perftest: every one,
 * since its latency tx depth is 1) and its completion reaped before going
 * on. Small payloads go inline when they fit (`-I`).
 * @module
 */
import type { PreparedSends, RecvWr, SendWr } from '@rdmajs/verbs';

import { STOP_IMM, type Phase } from './phase.js';
import type { RunParams } from './params.js';
import type { Resources } from './resources.js';
import type { Watchdog } from './watchdog.js';
import { PingPong, type LatRun } from './pingpong.js';

/** Receives reposted per call in send_lat. */
const RECV_CHAIN = 16;

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

  // Event-driven (-e): the phase's state lives in these fields so that
  // step() and the wake-up listener stay the same functions (see runEvents).
  // The client's stage 0 posts, 1 waits for the send completion (when
  // signaled), 2 for the answer; the server's stage 0 waits for a message
  // and answers it, 1 waits for the answer's send completion (when signaled).
  #serving = false;
  #i = 0;
  #stage = 0;
  #last = false;
  #t = 0;
  #total = 0;
  #until = 0;
  #dog: Watchdog | undefined;

  async #clientEvents(phase: Phase): Promise<LatRun> {
    this.#begin(false, phase);
    this.#until = phase.durationMs > 0 ? performance.now() + phase.durationMs : Infinity;
    this.#total = phase.durationMs > 0 ? Infinity : phase.total;
    try {
      await this.runEvents();
      return { count: this.#i, stamps: this.stamps.data };
    } finally {
      this.#dog!.disarm();
    }
  }

  #begin(serving: boolean, phase: Phase): void {
    this.#serving = serving;
    this.#dog = phase.watchdog.arm();
    this.#i = 0;
    this.#stage = 0;
    this.#last = false;
  }

  protected override step(): boolean {
    return this.#serving ? this.#serverStep() : this.#clientStep();
  }

  #clientStep(): boolean {
    const { sendCq, recvCq } = this.res;
    for (;;) {
      if (this.#stage === 0) {
        const i = this.#i;
        const last = (this.#last = i + 1 >= this.#total);
        const wr = last ? this.#pStop : this.#pSend;
        const signaled = last || (i + 1) % this.cqMod === 0;
        wr.setSignaled(0, signaled);
        const t = (this.#t = performance.now());
        this.stamps.ensure(i)[i] = t;
        wr.post();
        this.#dog!.count = this.#i = i + 1;
        this.#stage = signaled ? 1 : 2;
      }
      if (this.#stage === 1) {
        if (!this.ready(sendCq, this.sendBatch)) return false;
        this.#stage = 2;
      }
      if (!this.ready(recvCq, this.recvBatch)) return false;
      this.#consumed();
      if (this.#last) return true;
      if (this.#t >= this.#until) this.#total = this.#i + 1;
      this.#stage = 0;
    }
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
    this.#begin(true, phase);
    try {
      await this.runEvents();
      return this.#i;
    } finally {
      this.#dog!.disarm();
    }
  }

  #serverStep(): boolean {
    const { sendCq, recvCq } = this.res;
    for (;;) {
      if (this.#stage === 0) {
        if (!this.ready(recvCq, this.recvBatch)) return false;
        const stop = (this.#last = this.recvBatch.imm(0) === STOP_IMM);
        this.#consumed();
        const wr = stop ? this.#pStop : this.#pSend;
        const signaled = stop || (this.#i + 1) % this.cqMod === 0;
        wr.setSignaled(0, signaled);
        wr.post();
        this.#dog!.count = ++this.#i;
        if (signaled) this.#stage = 1;
        else if (stop) return true;
        else continue;
      }
      if (!this.ready(sendCq, this.sendBatch)) return false;
      this.#stage = 0;
      if (this.#last) return true;
    }
  }
}
