/**
 * write_lat: RDMA WRITE ping-pong. Each side polls the last byte of its
 * receive area until the peer's write lands there (a sequence number,
 * 1..255, never 0 so stale or untouched memory never matches).
 * @module
 */
import type { PreparedSends, SendWr } from '@rdmajs/verbs';

import type { Phase } from './phase.js';
import type { RunParams } from './params.js';
import type { Resources } from './resources.js';
import { CHECK_MASK, type Watchdog } from './watchdog.js';
import { PingPong, type LatRun } from './pingpong.js';

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
