/**
 * A UD "connection" over rdma_cm: a ready UD QP and, on the connecting
 * side, the address handle, QP number and qkey of the listener's QP.
 * @module
 */
import { assertOpen } from '../check.js';
import type { NativeCmId } from '../native.js';
import type { AddressHandle } from '../ah.js';
import type { WorkCompletion } from '../types/completion.js';
import type { UdTarget } from '../types/work-requests.js';
import type { QueuePair } from '../qp.js';
import { owners } from './channel.js';
import type { CmAddress } from './types.js';

/**
 * A UD "connection": this side's ready UD QP plus, on the connecting side,
 * where the listener's QP is. UD is connectionless, so there is no
 * disconnect: {@link UdConnection.close} frees the QP, the address handle
 * and the rdma_cm id.
 *
 * The accepting side learns nothing of the client's QP from the request;
 * it answers a datagram with {@link UdConnection.replyTo}.
 */
export class UdConnection {
  /** Always `'UD'`: tells it from a {@link Connection}. */
  readonly type = 'UD' as const;
  /** This side's UD QP, ready to post on (receive buffers need 40 extra bytes for the GRH). */
  readonly qp: QueuePair<'ready'>;
  /** The qkey rdma_cm gave this side's QP: datagrams to it must carry it. */
  readonly qkey: number;
  /** What the peer sent with its connect/accept (exact bytes). */
  readonly remotePrivateData: Buffer;
  /** This side's IP address and port; null if rdma_cm did not report it. */
  readonly localAddress: CmAddress | null;
  /** The peer's IP address and port; null if rdma_cm did not report it. */
  readonly remoteAddress: CmAddress | null;
  /** Connecting side: address handle to the listener's port. Null on the accepting side. */
  readonly ah: AddressHandle | null;
  /** Connecting side: the listener's QP number. Null on the accepting side. */
  readonly remoteQpn: number | null;
  /** Connecting side: the listener QP's qkey. Null on the accepting side. */
  readonly remoteQkey: number | null;
  #id: NativeCmId;
  #replyAhs: AddressHandle[] = [];
  #closed = false;

  /** @internal */
  constructor(id: NativeCmId, qp: QueuePair<'ready'>, qkey: number, remotePrivateData: Buffer, remote?: { ah: AddressHandle; qpn: number; qkey: number }) {
    this.#id = id;
    this.qp = qp;
    this.qkey = qkey;
    this.remotePrivateData = remotePrivateData;
    this.localAddress = id.localAddress;
    this.remoteAddress = id.remoteAddress;
    this.ah = remote?.ah ?? null;
    this.remoteQpn = remote?.qpn ?? null;
    this.remoteQkey = remote?.qkey ?? null;
  }

  /** Connecting side: the `ud` target of a send to the listener's QP. Null on the accepting side. */
  get remote(): UdTarget | null {
    return this.ah ? { ah: this.ah, remoteQpn: this.remoteQpn!, remoteQkey: this.remoteQkey! } : null;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The `ud` target of a reply to the sender of a datagram this QP received:
   * an address handle from the completion and its GRH (`pd.createAhFromWc`),
   * the sender's QP number, and this side's qkey (rdma_cm gives every QP of
   * its UDP port space the same one). The address handle is closed with
   * this connection.
   *
   * @param wc The receive's completion.
   * @param grh The first 40 bytes of its receive buffer.
   */
  replyTo(wc: WorkCompletion, grh: Uint8Array): UdTarget {
    assertOpen(this.#closed, 'UdConnection.replyTo', 'the connection');
    const ah = this.qp.pd.createAhFromWc(wc, grh, this.#id.port || 1);
    this.#replyAhs.push(ah);
    return { ah, remoteQpn: wc.srcQp, remoteQkey: this.qkey };
  }

  /** Frees the QP, the address handles and the rdma_cm id. Harmless when already closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.qp.close();
    this.ah?.close();
    for (const ah of this.#replyAhs.splice(0)) ah.close();
    owners.delete(this.#id);
    this.#id.close();
  }
}
