/**
 * The bandwidth tests (write_bw, read_bw, send_bw, atomic_bw), structured
 * like perftest's run_iter_bw: keep up to tx-depth operations in flight,
 * `-l` of them per post (one chain, one doorbell), one in every `-Q`
 * signaled, and count completions until the last one.
 *
 * The measured loops allocate nothing: the work requests and their arrays
 * are built once and reused (only their `signaled` flag changes), the
 * completions land in one {@link CompletionBatch} through `cq.pollInto`, and
 * the bookkeeping lives in typed arrays. The busy-poll loops never yield to
 * the event loop; the `-e` loops sleep in `cq.pollWait` when the CQ is empty.
 * @module
 */
import { CompletionBatch, type PreparedSends, type SendWr } from '@rdmajs/verbs';

import type { RunParams } from './params.js';
import type { Resources } from './resources.js';
import { STOP_IMM, checkEvery, failed, type Phase } from './phase.js';
import { CHECK_MASK } from './watchdog.js';

/** What a client phase of a bandwidth test did. */
export interface BwRun {
  iterations: number;
  /** First post to last completion. */
  ms: number;
}

/**
 * A ring of how many operations each outstanding signaled work request
 * accounts for (perftest's cq_mod bookkeeping, exact at the tail). Signaled
 * requests of one RC QP complete in order.
 */
class CoverRing {
  #ring: Int32Array;
  #head = 0;
  #tail = 0;
  constructor(capacity: number) {
    this.#ring = new Int32Array(capacity + 1);
  }
  push(n: number): void {
    this.#ring[this.#tail] = n;
    this.#tail = this.#tail + 1 === this.#ring.length ? 0 : this.#tail + 1;
  }
  shift(): number {
    const n = this.#ring[this.#head]!;
    this.#head = this.#head + 1 === this.#ring.length ? 0 : this.#head + 1;
    return n;
  }
  clear(): void {
    this.#head = this.#tail = 0;
  }
}

/** The client of a bandwidth test: the stream of operations. */
export class BwStream {
  readonly #res: Resources;
  readonly #events: boolean;
  readonly #what: string;
  readonly #postList: number;
  readonly #depth: number;
  readonly #cqMod: number;
  /** The request posted alone (`-l 1`); its `signaled` flag toggles. */
  readonly #single: SendWr;
  /** The chain posted with `-l n`: every cqMod-th request signaled. */
  readonly #list: SendWr[];
  /** The last chain of a phase, ending with {@link #tail}. */
  readonly #finalList: SendWr[];
  /** The last request of a phase: signaled; for SEND, carries {@link STOP_IMM}. */
  readonly #tail: SendWr;
  readonly #all: SendWr[];
  // The same, validated and encoded once per message size (prepareSend):
  // posting is one native call, `signaled` flips in place.
  #pSingle!: PreparedSends;
  #pTail!: PreparedSends;
  #pList!: PreparedSends;
  #pFinal!: PreparedSends;
  readonly #batch: CompletionBatch;
  readonly #covers: CoverRing;

  constructor(res: Resources, params: RunParams, events: boolean) {
    this.#res = res;
    this.#events = events;
    this.#postList = params.postList;
    this.#depth = params.txDepth;
    this.#cqMod = params.cqMod;
    const verb = params.test.replace(/_bw$/, '');
    const make = (signaled: boolean): SendWr => {
      const sg = [{ mr: res.mr, offset: res.layout.sendOffset, length: 8 }];
      const remote = { address: res.remote.address, rkey: res.remote.rkey };
      switch (verb) {
        case 'write':
          return { id: 1n, opcode: 'RDMA_WRITE', sg, remote, signaled, inline: false };
        case 'read':
          return { id: 1n, opcode: 'RDMA_READ', sg, remote, signaled };
        case 'atomic':
          return { id: 1n, opcode: 'ATOMIC_FETCH_AND_ADD', sg, remote, compareAdd: 1n, signaled };
        default:
          return { id: 1n, opcode: 'SEND', sg, signaled, inline: false };
      }
    };
    this.#what = params.test;
    this.#single = make(false);
    this.#list = [];
    this.#finalList = [];
    for (let j = 0; j < params.postList; j++) {
      this.#list.push(make((j + 1) % params.cqMod === 0));
      this.#finalList.push(j + 1 < params.postList ? this.#list[j]! : make(true));
    }
    this.#tail = params.postList > 1 ? this.#finalList[params.postList - 1]! : make(true);
    if (verb === 'send') {
      this.#tail.opcode = 'SEND_WITH_IMM';
      this.#tail.imm = STOP_IMM;
    }
    this.#all = [this.#single, this.#tail, ...this.#list];
    this.#batch = new CompletionBatch(Math.max(16, params.txDepth));
    this.#covers = new CoverRing(params.txDepth + 1);
    this.#prepare();
  }

  #prepare(): void {
    const qp = this.#res.qp;
    for (const p of [this.#pSingle, this.#pTail, this.#pList, this.#pFinal]) p?.close();
    this.#pSingle = qp.prepareSend([this.#single]);
    this.#pTail = qp.prepareSend([this.#tail]);
    this.#pList = qp.prepareSend(this.#list);
    this.#pFinal = qp.prepareSend(this.#finalList);
  }

  /** Sets the message size of every request (atomics stay 8 bytes). */
  setSize(size: number, inlineSize: number): void {
    const inline = size <= inlineSize && size <= this.#res.maxInline;
    for (const wr of this.#all) {
      if (wr.opcode !== 'ATOMIC_FETCH_AND_ADD') wr.sg![0]!.length = size;
      if (wr.inline !== undefined) wr.inline = inline;
    }
    this.#prepare();
  }

  /** Runs one phase, busy-polling or event-driven. */
  run(phase: Phase): Promise<BwRun> {
    this.#covers.clear();
    return this.#events ? this.#runEvents(phase) : Promise.resolve(this.#runBusy(phase));
  }

  /** Posts the next request or chain; returns the new posted count. */
  #post(posted: number, total: number): number {
    const l = this.#postList;
    const next = posted + l;
    if (l === 1) {
      if (next >= total) {
        this.#pTail.post();
        this.#covers.push(next - this.#covered);
        this.#covered = next;
      } else {
        const signaled = next % this.#cqMod === 0;
        this.#pSingle.setSignaled(0, signaled);
        this.#pSingle.post();
        if (signaled) {
          this.#covers.push(next - this.#covered);
          this.#covered = next;
        }
      }
    } else {
      (next >= total ? this.#pFinal : this.#pList).post();
      for (let k = this.#cqMod; k <= l; k += this.#cqMod) this.#covers.push(this.#cqMod);
      this.#covered = next;
    }
    return next;
  }
  /** Operations accounted for by signaled requests posted so far. */
  #covered = 0;

  #runBusy(phase: Phase): BwRun {
    const cq = this.#res.sendCq;
    const batch = this.#batch;
    const l = this.#postList;
    const depth = this.#depth;
    const dog = phase.watchdog;
    let total = phase.durationMs > 0 ? Infinity : phase.total;
    let posted = 0;
    let done = 0;
    let polls = 0;
    const every = checkEvery(phase);
    let checkAt = every;
    this.#covered = 0;
    const t0 = performance.now();
    for (;;) {
      while (posted < total && posted - done + l <= depth) posted = this.#post(posted, total);
      const n = cq.pollInto(batch);
      if (n > 0) {
        for (let i = 0; i < n; i++) {
          if (!batch.ok(i)) failed(this.#what, batch, i);
          done += this.#covers.shift();
        }
        if (done >= total) break;
      }
      // The clock, now and then: every CHECK_MASK + 1 polls or `every` operations.
      if (done >= checkAt || (++polls & CHECK_MASK) === 0) {
        checkAt = done + every;
        if (dog.check(done) && total === Infinity) total = posted + l;
      }
    }
    const t1 = performance.now();
    return { iterations: done, ms: t1 - t0 };
  }

  async #runEvents(phase: Phase): Promise<BwRun> {
    const cq = this.#res.sendCq;
    const batch = this.#batch;
    const l = this.#postList;
    const depth = this.#depth;
    const dog = phase.watchdog.arm();
    let total = phase.durationMs > 0 ? Infinity : phase.total;
    let posted = 0;
    let done = 0;
    let polls = 0;
    const every = checkEvery(phase);
    let checkAt = every;
    this.#covered = 0;
    try {
      const t0 = performance.now();
      for (;;) {
        while (posted < total && posted - done + l <= depth) posted = this.#post(posted, total);
        let n = cq.pollInto(batch);
        if (n === 0) {
          dog.count = done;
          n = await cq.pollWait(batch);
        }
        for (let i = 0; i < n; i++) {
          if (!batch.ok(i)) failed(this.#what, batch, i);
          done += this.#covers.shift();
        }
        if (done >= total) break;
        if (done >= checkAt || (++polls & 63) === 0) {
          checkAt = done + every;
          if (dog.check(done) && total === Infinity) total = posted + l;
        }
      }
      const t1 = performance.now();
      return { iterations: done, ms: t1 - t0 };
    } finally {
      dog.disarm();
    }
  }
}
