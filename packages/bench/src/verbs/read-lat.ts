/**
 * read_lat: one RDMA READ at a time, the full round trip per sample; the
 * server is idle (the responder is the peer's RDMA device).
 * @module
 */
import type { PreparedSends, SendWr } from '@rdmajs/verbs';

import type { Phase } from './phase.js';
import type { RunParams } from './params.js';
import type { Resources } from './resources.js';
import { PingPong, type LatRun } from './pingpong.js';

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
