/**
 * An incoming connection request: accept it (set up the QP and answer) or
 * reject it with private data the peer receives as `rejectData`.
 * @module
 */
import { MAX_TIMER_MS, obj, optBool, optInt } from '../check.js';
import { rdmaError } from '../errors.js';
import type { NativeCmId } from '../native.js';
import { Connection } from './connection.js';
import { PRIVATE_MAX, frame, unframe } from './private-data.js';
import { handshake, rdmaDepth, setUp, toRts } from './setup.js';
import type { AcceptOptions, CmAddress, CmType } from './types.js';
import { UdConnection } from './ud-connection.js';
import { CmEventWaiter } from './waiter.js';

/** What accepting a request of type `T` gives: {@link Connection} or {@link UdConnection}. */
export type CmConnection<T extends CmType> = T extends 'UD' ? UdConnection : Connection;

/** An incoming connection, from {@link Listener}. Accept or reject it. */
export class ConnectionRequest<T extends CmType = 'RC'> {
  /** The listener's type: what {@link accept} makes. */
  readonly type: T;
  /** What the peer sent with its connect (exact bytes). */
  readonly remotePrivateData: Buffer;
  /** The connecting peer's IP address and port; null if rdma_cm did not report it. */
  readonly remoteAddress: CmAddress | null;
  /** The RDMA device the request arrived on (create the PD there). */
  readonly device: string | null;
  #id: NativeCmId;
  #done = false;

  /** @internal */
  constructor(id: NativeCmId, privateData: Buffer, type: T) {
    this.#id = id;
    this.type = type;
    this.remotePrivateData = unframe(privateData);
    this.remoteAddress = id.remoteAddress;
    this.device = id.device;
  }

  /**
   * Creates the QP and accepts. RC: resolves once the connection is
   * established (or rejects with ETIMEDOUT after `timeoutMs`, default 10 s).
   * UD: resolves at once with the QP ready (the reply needs no answer).
   */
  async accept(options: AcceptOptions): Promise<CmConnection<T>> {
    const m = 'rdma_accept';
    if (this.#done) throw rdmaError(m, 'EINVAL', 'this request was already answered');
    obj(m, 'options', options);
    const framed = frame(m, options.privateData, PRIVATE_MAX[this.type].accept);
    const timeoutMs = optInt(m, 'timeoutMs', options.timeoutMs, 10_000, 1, MAX_TIMER_MS);
    const early = optBool(m, 'early', options.early, false);
    this.#done = true;
    const id = this.#id;
    const sink = new CmEventWaiter(m, `${this.remoteAddress?.address}:${this.remoteAddress?.port}`);
    return handshake(id, sink, async (made) => {
      if (this.type === 'UD') {
        const ud = setUp('UD', m, id, options);
        made.qp = ud.qp;
        id.accept({ privateData: framed, qpNum: ud.qp.qpn });
        return new UdConnection(id, ud.qp, ud.qkey, this.remotePrivateData) as CmConnection<T>;
      }
      const qp = (made.qp = setUp('RC', m, id, options));
      const ready = toRts(id, qp);
      const depth = rdmaDepth(m, options);
      id.accept({ privateData: framed, qpNum: qp.qpn, responderResources: depth, initiatorDepth: depth });
      if (!early) await sink.wait(['ESTABLISHED'], Date.now() + timeoutMs);
      return new Connection(id, ready, this.remotePrivateData, sink, !early) as CmConnection<T>;
    });
  }

  /**
   * Refuses the connection; the peer's connect fails with a
   * {@link CmRejectError} (`ECONNREFUSED`) whose `rejectData` is `privateData`.
   */
  reject(privateData?: Uint8Array): void {
    const m = 'rdma_reject';
    if (this.#done) throw rdmaError(m, 'EINVAL', 'this request was already answered');
    const framed = frame(m, privateData, PRIVATE_MAX[this.type].reject);
    this.#done = true;
    try {
      this.#id.reject(framed);
    } finally {
      this.#id.close();
    }
  }
}
