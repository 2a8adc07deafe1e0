/**
 * The verbs objects of one side of a run: device, PD, one registered buffer
 * (registered once for the whole run, every size), a send CQ and a receive
 * CQ (separate, like perftest's), an optional completion channel, and one RC
 * queue pair connected to the peer's.
 * @module
 */
import {
  openDevice,
  type CompletionChannel,
  type CompletionQueue,
  type Context,
  type Endpoint,
  type MemoryRegion,
  type ProtectionDomain,
  type QueuePair,
  type RemoteBuffer,
} from '@rdmajs/verbs';

import { TEST_KINDS, type RunParams } from './params.js';

/** Local settings that are not run parameters. */
export interface LocalSettings {
  device: string | undefined;
  ibPort: number;
  gidIndex: number | undefined;
  events: boolean;
}

/**
 * Buffer layout. `send` is where local payloads come from (and READs and
 * atomics land); `recv` is what the peer targets (RDMA WRITE/READ/atomics)
 * or where its SENDs land. write_lat needs both apart (each side polls the
 * last byte of its `recv` area while the peer's write arrives); the other
 * tests use one area for both, as perftest does.
 */
export interface Layout {
  sendOffset: number;
  recvOffset: number;
  bytes: number;
}

/** Areas start on a page, like perftest's memalign()ed buffers (rxe copies payloads page by page). */
const ALIGN = 4096;
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

export function layoutFor(params: RunParams): Layout {
  const max = Math.max(...params.sizes);
  if (params.test === 'write_lat') {
    const slot = alignUp(max, ALIGN);
    return { sendOffset: 0, recvOffset: slot, bytes: 2 * slot };
  }
  // Atomics need 8-byte alignment: the region's start is aligned below.
  return { sendOffset: 0, recvOffset: 0, bytes: alignUp(Math.max(max, 8), 64) };
}

/** One side's objects, before and after connecting. */
export class Resources {
  readonly ctx: Context;
  readonly pd: ProtectionDomain;
  readonly channel: CompletionChannel | null;
  readonly sendCq: CompletionQueue;
  readonly recvCq: CompletionQueue;
  readonly mr: MemoryRegion;
  /** The layout, shifted so the areas start page-aligned in memory. */
  readonly layout: Layout;
  readonly #prepared: QueuePair<'prepared'>;
  #qp: QueuePair<'ready'> | null = null;
  #remote: RemoteBuffer | null = null;
  readonly #endpoint: Endpoint;
  readonly #maxRdAtomic: number;
  readonly #maxDestRdAtomic: number;

  constructor(params: RunParams, local: LocalSettings) {
    const kind = TEST_KINDS[params.test];
    this.ctx = openDevice(local.device);
    try {
      this.pd = this.ctx.allocPd();
      const base = layoutFor(params);
      this.mr = this.pd.allocateMemory(base.bytes + ALIGN, ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ', 'REMOTE_ATOMIC']);
      const shift = (ALIGN - Number(this.mr.address % BigInt(ALIGN))) % ALIGN;
      this.layout = { sendOffset: base.sendOffset + shift, recvOffset: base.recvOffset + shift, bytes: base.bytes };
      this.channel = local.events ? this.ctx.createCompletionChannel() : null;
      const channel = this.channel ?? undefined;
      const receives = kind.verb === 'send' ? params.rxDepth : 1;
      this.sendCq = this.ctx.createCq({ entries: params.txDepth + 1, ...(channel ? { channel } : {}) });
      this.recvCq = this.ctx.createCq({ entries: receives + 1, ...(channel ? { channel } : {}) });
      const qp = this.pd.createQp({
        type: 'RC',
        sendCq: this.sendCq,
        recvCq: this.recvCq,
        cap: { maxSendWr: params.txDepth, maxRecvWr: receives, maxInlineData: params.inlineSize },
      });
      this.#prepared = qp;
      this.#endpoint = qp.endpoint({ port: local.ibPort, ...(local.gidIndex !== undefined ? { gidIndex: local.gidIndex } : {}) });
      // perftest keeps as many READs/atomics in flight as the device allows
      // (its -o); connect() alone would cap them at 16.
      const dev = this.ctx.queryDevice();
      this.#maxRdAtomic = dev.maxQpInitRdAtom;
      this.#maxDestRdAtomic = dev.maxQpRdAtom;
    } catch (err) {
      this.ctx.close();
      throw err;
    }
  }

  /** This side's endpoint, for the peer. */
  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  /** The GID index in use (the endpoint's GID). */
  get gid(): string {
    return this.#endpoint.gid;
  }

  /** The area the peer may target, for the peer. */
  localTarget(): RemoteBuffer {
    return this.mr.remote(this.layout.recvOffset, this.mr.length - this.layout.recvOffset);
  }

  /** Connects to the peer (RESET -> RTS) and remembers its target buffer. */
  connect(peer: Endpoint, remote: RemoteBuffer): QueuePair<'ready'> {
    this.#remote = remote;
    this.#qp = this.#prepared.connect(peer, { maxRdAtomic: this.#maxRdAtomic, maxDestRdAtomic: this.#maxDestRdAtomic });
    return this.#qp;
  }

  /** The connected QP. */
  get qp(): QueuePair<'ready'> {
    if (!this.#qp) throw new Error('not connected');
    return this.#qp;
  }

  /** The peer's target buffer. */
  get remote(): RemoteBuffer {
    if (!this.#remote) throw new Error('not connected');
    return this.#remote;
  }

  /** The actual inline capacity the device granted. */
  get maxInline(): number {
    return this.#prepared.cap.maxInlineData;
  }

  /** Closes everything (the device closes its children). */
  close(): void {
    this.ctx.close();
  }
}
