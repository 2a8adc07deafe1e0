/**
 * The {@link Transport} over @rdmajs/verbs: {@link LocalSide} is what one
 * end allocates before the handshake (PD, CQ, ring, the receives), and
 * {@link VerbsTransport} adds the connected QP once rdma_cm has one.
 * @module
 */
import {
  CompletionBatch,
  type CompletionQueue,
  type MemoryRegion,
  type ProtectionDomain,
  type QueuePair,
  type RecvWr,
  RegistrationCache,
  type SendWr,
  type cm,
} from '@rdmajs/verbs';

import type { DeviceHandle } from '../device.js';
import { CREDIT_BYTES, VERSION, type Hello } from '../protocol.js';
import { DEFAULT_CREDITS, DEFAULT_RING, DEFAULT_ZERO_COPY, INLINE_MAX, SEND_WR, type LinkOptions } from './options.js';
import type { Transport } from './transport.js';

// Zero-copy registration cache per connection. Registering costs a system
// call and pins pages, more than copying one 64 KiB write, so a buffer is
// registered the second time it is written (applications that reuse their
// send buffers, or write the same big payload, pay once); one-off buffers
// keep being copied. Regions are only read locally (no remote rights).
const ZERO_COPY_CACHE = {
  access: [],
  maxEntries: 16,
  maxBytes: 64 << 20, // pinned per connection, cached plus in flight
  maxRegion: 32 << 20, // larger ArrayBuffers are copied, not registered whole
  registerOnUse: 2,
} as const;

const EMPTY_RECV: RecvWr = { id: 0n };

/** The local half made before the handshake: its hello goes to the peer. */
export class LocalSide {
  readonly pd: ProtectionDomain;
  readonly cq: CompletionQueue;
  /** Receive ring plus the credit word after it. */
  readonly ring: MemoryRegion;
  readonly ringSize: number;
  readonly recvCredits: number;
  readonly busyPollUs: number;
  readonly zeroCopyThreshold: number;

  constructor(
    readonly dev: DeviceHandle,
    options: LinkOptions,
  ) {
    this.ringSize = options.ringSize ?? DEFAULT_RING;
    this.recvCredits = options.recvCredits ?? DEFAULT_CREDITS;
    this.busyPollUs = options.busyPollUs ?? 0;
    this.zeroCopyThreshold = options.zeroCopyThreshold ?? DEFAULT_ZERO_COPY;
    try {
      this.pd = dev.ctx.allocPd();
    } catch (err) {
      dev.release();
      throw err;
    }
    try {
      this.cq = dev.ctx.createCq({ entries: SEND_WR + this.recvCredits + 16, channel: dev.channel });
      this.ring = this.pd.allocateMemory(this.ringSize + CREDIT_BYTES, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    } catch (err) {
      this.pd.close();
      dev.release();
      throw err;
    }
  }

  hello(): Hello {
    return { version: VERSION, flags: 0, ringSize: this.ringSize, ringAddress: this.ring.address, rkey: this.ring.rkey, recvCredits: this.recvCredits };
  }

  /** QP options for rdma_cm. */
  qpOptions() {
    return {
      sendCq: this.cq,
      recvCq: this.cq,
      cap: { maxSendWr: SEND_WR, maxRecvWr: this.recvCredits, maxSendSge: 1, maxRecvSge: 1, maxInlineData: INLINE_MAX },
    };
  }

  /** Posts the initial receives (QP in INIT, before the peer can send). */
  postReceives(qp: QueuePair): void {
    const wrs: RecvWr[] = new Array(this.recvCredits).fill(EMPTY_RECV);
    qp.postRecv(wrs);
  }

  /** Frees everything (QP, MRs, CQ) and lets go of the device. */
  close(): void {
    this.pd.close();
    this.cq.close();
    this.dev.release();
  }
}

/** A connected {@link LocalSide}: the link's {@link Transport} over verbs. */
export class VerbsTransport implements Transport {
  readonly ring: Buffer;
  readonly ringSize: number;
  readonly recvCredits: number;
  readonly busyPollUs: number;
  readonly zeroCopyThreshold: number;
  readonly zeroCopy: RegistrationCache | undefined;
  readonly completions = new CompletionBatch(64);
  readonly #local: LocalSide;
  readonly #conn: cm.Connection;
  readonly #qp: QueuePair<'ready'>;

  constructor(local: LocalSide, conn: cm.Connection) {
    this.#local = local;
    this.#conn = conn;
    this.#qp = conn.qp;
    this.ring = local.ring.buffer;
    this.ringSize = local.ringSize;
    this.recvCredits = local.recvCredits;
    this.busyPollUs = local.busyPollUs;
    this.zeroCopyThreshold = local.zeroCopyThreshold;
    this.zeroCopy = local.zeroCopyThreshold > 0 ? new RegistrationCache(local.pd, ZERO_COPY_CACHE) : undefined;
  }

  allocate(bytes: number): MemoryRegion {
    return this.#local.pd.allocateMemory(bytes);
  }

  postSend(wrs: SendWr[]): void {
    this.#qp.postSend(wrs);
  }

  postRecv(wrs: RecvWr[]): void {
    this.#qp.postRecv(wrs);
  }

  poll(spinUs = 0): number {
    return this.#local.cq.pollInto(this.completions, spinUs);
  }

  arm(): number {
    return this.#local.cq.armInto(this.completions);
  }

  onWake(fn: (() => void) | undefined): void {
    this.#local.cq.onWake(fn);
  }

  get established(): boolean {
    return this.#conn.established;
  }

  onEstablished(fn: () => void): void {
    this.#conn.once('established', fn);
  }

  onDisconnected(fn: () => void): void {
    this.#conn.on('disconnected', fn);
  }

  halt(): void {
    try {
      if (!this.#qp.closed) this.#qp.modify({ qpState: 'ERR' });
    } catch {
      /* closing anyway */
    }
  }

  ref(): void {
    this.#local.cq.ref();
    this.#conn.ref();
  }

  unref(): void {
    this.#local.cq.unref();
    this.#conn.unref();
  }

  disconnect(): Promise<void> {
    return this.#conn.close();
  }

  free(): void {
    this.zeroCopy?.close();
    this.#local.close();
  }
}
