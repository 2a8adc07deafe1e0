/**
 * The receiving side of send_bw (the bandwidth tests' only active server).
 * Like the stream, its loop allocates nothing: the receive chain is built
 * once, completions land in one {@link CompletionBatch}.
 * @module
 */
import { CompletionBatch, type RecvWr } from '@rdmajs/verbs';

import type { RunParams } from './params.js';
import type { Resources } from './resources.js';
import { STOP_IMM, failed, type Phase } from './phase.js';
import { CHECK_MASK } from './watchdog.js';

/**
 * The receiving side of send_bw: keeps `rxDepth` receives posted (reposting
 * in chains of up to 16) and consumes SENDs until the one carrying
 * {@link STOP_IMM}.
 */
export class BwSink {
  readonly #res: Resources;
  readonly #events: boolean;
  readonly #chain: RecvWr[];
  readonly #batch: CompletionBatch;
  /** Receives consumed but not yet reposted. */
  #deficit = 0;

  constructor(res: Resources, params: RunParams, events: boolean) {
    this.#res = res;
    this.#events = events;
    const chunk = Math.min(16, params.rxDepth);
    const wr: RecvWr = { id: 2n, sg: [{ mr: res.mr, offset: res.layout.recvOffset, length: Math.max(...params.sizes) }] };
    // The same request repeated: each element is encoded on its own.
    this.#chain = new Array<RecvWr>(chunk).fill(wr);
    this.#batch = new CompletionBatch(Math.max(16, chunk * 2));
    for (let posted = 0; posted + chunk <= params.rxDepth; posted += chunk) res.qp.postRecv(this.#chain);
  }

  /** Consumes one phase's SENDs; returns how many arrived. */
  run(phase: Phase): Promise<number> {
    return this.#events ? this.#runEvents(phase) : Promise.resolve(this.#runBusy(phase));
  }

  /** Counts completions; returns true on the stop message. */
  #consume(n: number): boolean {
    const batch = this.#batch;
    let stop = false;
    for (let i = 0; i < n; i++) {
      if (!batch.ok(i)) failed('send_bw receive', batch, i);
      if (batch.imm(i) === STOP_IMM) stop = true;
    }
    const chunk = this.#chain.length;
    this.#deficit += n;
    while (this.#deficit >= chunk) {
      this.#res.qp.postRecv(this.#chain);
      this.#deficit -= chunk;
    }
    return stop;
  }

  #runBusy(phase: Phase): number {
    const cq = this.#res.recvCq;
    const dog = phase.watchdog;
    let received = 0;
    let polls = 0;
    for (;;) {
      const n = cq.pollInto(this.#batch);
      if (n > 0) {
        received += n;
        if (this.#consume(n)) return received;
      } else if ((++polls & CHECK_MASK) === 0) {
        dog.check(received);
      }
    }
  }

  async #runEvents(phase: Phase): Promise<number> {
    const cq = this.#res.recvCq;
    const dog = phase.watchdog.arm();
    let received = 0;
    try {
      for (;;) {
        const n = await cq.pollWait(this.#batch);
        received += n;
        dog.count = received;
        if (this.#consume(n)) return received;
      }
    } finally {
      dog.disarm();
    }
  }
}
