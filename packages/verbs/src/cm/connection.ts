/**
 * An established RC connection over rdma_cm: the connected QP, what the
 * peer sent, and the disconnect handshake (either side may start it; the
 * other answers so neither waits for a timeout).
 * @module
 */
import { EventEmitter } from 'node:events';

import { MAX_TIMER_MS, int } from '../check.js';
import type { NativeCmId } from '../native.js';
import type { QueuePair } from '../qp.js';
import { ref } from './channel.js';
import type { CmAddress } from './types.js';
import type { CmEventWaiter } from './waiter.js';

// After an early accept the handshake may still fail (the peer gave up);
// any of these ends the connection.
const ENDING = new Set(['DISCONNECTED', 'DEVICE_REMOVAL', 'TIMEWAIT_EXIT', 'CONNECT_ERROR', 'UNREACHABLE', 'REJECTED']);

/**
 * An established RC connection. Emits `'disconnected'` once, when either
 * side disconnects (or the connection fails).
 */
export class Connection extends EventEmitter<{
  /** Either side disconnected, or the connection failed; emitted once. */
  disconnected: [];
  /** After `accept({ early: true })`: the peer confirmed; this side may send. */
  established: [];
}> {
  /** Always `'RC'`: tells it from a {@link UdConnection}. */
  readonly type = 'RC' as const;
  /** The connected QP, ready to post on. */
  readonly qp: QueuePair<'ready'>;
  /** What the peer sent with its connect/accept (exact bytes). */
  readonly remotePrivateData: Buffer;
  /** This side's IP address and port; null if rdma_cm did not report it. */
  readonly localAddress: CmAddress | null;
  /** The peer's IP address and port; null if rdma_cm did not report it. */
  readonly remoteAddress: CmAddress | null;
  #id: NativeCmId;
  #disconnected = false;
  #closed = false;
  #initiated = false;
  #refed = true;
  #established: boolean;
  #waitDisconnect: Array<() => void> = [];

  /** @internal */
  constructor(id: NativeCmId, qp: QueuePair<'ready'>, remotePrivateData: Buffer, sink: CmEventWaiter, established = true) {
    super();
    this.#id = id;
    this.qp = qp;
    this.remotePrivateData = remotePrivateData;
    this.localAddress = id.localAddress;
    this.remoteAddress = id.remoteAddress;
    ref(1);
    this.#established = established;
    sink.onLater = (event) => {
      if (event.type !== 'ESTABLISHED') {
        if (ENDING.has(event.type)) this.#onDisconnected();
      } else if (!this.#established) {
        this.#established = true;
        this.emit('established');
      }
    };
  }

  /**
   * True once rdma_cm confirmed the connection on both sides. Always true
   * except after `accept({ early: true })`, until `'established'` (the peer
   * may not be ready to receive before that; it can send already).
   */
  get established(): boolean {
    return this.#established;
  }

  /** True once disconnected by either side. */
  get disconnected(): boolean {
    return this.#disconnected;
  }

  /** While connected, keep the process alive (the default). */
  ref(): this {
    if (!this.#refed && !this.#disconnected) ref(1);
    this.#refed = true;
    return this;
  }

  /** Do not keep the process alive just for this connection (like `socket.unref()`). */
  unref(): this {
    if (this.#refed && !this.#disconnected) ref(-1);
    this.#refed = false;
    return this;
  }

  /**
   * Disconnects (the peer gets `'disconnected'`) and resolves once rdma_cm
   * confirms, or after `timeoutMs` (default 5 s). Harmless when already done.
   */
  async disconnect(timeoutMs = 5000): Promise<void> {
    if (this.#disconnected || this.#closed) return;
    int('Connection.disconnect', 'timeoutMs', timeoutMs, 0, MAX_TIMER_MS);
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve) => {
      this.#waitDisconnect.push(resolve);
      timer = setTimeout(resolve, timeoutMs);
    });
    this.#initiated = true;
    try {
      this.#id.disconnect();
    } catch {
      this.#onDisconnected(); // already gone on the wire
    }
    await done;
    clearTimeout(timer);
    this.#onDisconnected(); // no confirmation in time: done waiting all the same
  }

  /** Disconnects if needed and frees the QP and the rdma_cm id. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.disconnect();
    this.#closed = true;
    this.qp.close();
    this.#id.close();
  }

  #onDisconnected(): void {
    if (this.#disconnected) return;
    this.#disconnected = true;
    if (this.#refed) ref(-1);
    // The peer disconnected: answer (DREP), or it waits for a timeout.
    if (!this.#initiated) {
      try {
        this.#id.disconnect();
      } catch {
        /* already torn down */
      }
    }
    // Our QP is not managed by rdma_cm: flush it ourselves.
    try {
      if (!this.qp.closed) this.qp.modify({ qpState: 'ERR' });
    } catch {
      /* closing anyway */
    }
    this.#waitDisconnect.splice(0).forEach((r) => r());
    this.emit('disconnected');
  }
}
