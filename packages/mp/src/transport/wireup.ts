/**
 * Lazy connections: the handshake that connects two ranks' RC queue pairs
 * the first time one has something for the other, over one UD queue pair
 * per process (its address is in the endpoint table `init()` swaps).
 *
 * ```
 *  A (has a frame for B)                    B
 *  create RC QP for B
 *  REQ {A, qpn_A, psn_A}  ---- UD ---->     create RC QP for A (if none), connect it to qpn_A
 *                         <--- UD -----     REP {B, qpn_B, psn_B}
 *  connect to qpn_B; B is connected: send
 * ```
 * B sends nothing until it knows A's QP is connected too: A's first RC
 * frame, or A's REP to a REQ of B's (B sends one when it has something for
 * A). Both asking at once works the same way: each REQ is answered. UD may
 * drop datagrams, so a REQ is repeated (backing off) until answered, within
 * a bound; answering is idempotent.
 *
 * Datagram layout (after the 40-byte GRH every UD receive starts with):
 * ```
 * 0  u8   kind (WIREUP.*)    4  u32 from (world rank)
 * 1  u8   version            8  u32 qpn of `from`'s RC QP for the receiver
 * 2  u16  reserved          12  u32 its initial PSN
 * ```
 * @internal
 * @module
 */
import type { AddressHandle, CompletionQueue, Endpoint, ProtectionDomain, QueuePair, SendWr } from '@rdmajs/verbs';

import { BouncePool } from './bounce.js';

export const WIREUP = { req: 1, rep: 2 } as const;
export type WireupKind = (typeof WIREUP)[keyof typeof WIREUP];

const VERSION = 1;
const MSG_BYTES = 16;
/** UD receives start with a Global Routing Header (on RoCE: the IP header, padded). */
const GRH_BYTES = 40;
const RECV_SLOTS = 64;
const SEND_SLOTS = 64;
/** Completions the handshake's QP can have outstanding (its CQ share). */
export const WIREUP_COMPLETIONS = RECV_SLOTS + SEND_SLOTS;
/** The qkey of our UD QPs ("MP" + version). */
export const WIREUP_QKEY = 0x4d50_0001;

/** A handshake datagram as received. */
export interface WireupMessage {
  kind: WireupKind;
  from: number;
  qpn: number;
  psn: number;
}

export class Wireup {
  readonly qp: QueuePair<'ready'>;
  readonly #pd: ProtectionDomain;
  readonly #recvPool: BouncePool;
  readonly #sendPool: BouncePool;
  readonly #ahs = new Map<number, AddressHandle>();
  readonly #idBase: number;
  readonly #recvSge = { mr: undefined as unknown as BouncePool['mr'], offset: 0, length: 0 };
  readonly #recvWr = { id: 0n, sg: [this.#recvSge] };
  readonly #sendSge = { mr: undefined as unknown as BouncePool['mr'], offset: 0, length: MSG_BYTES };
  readonly #ud = { ah: undefined as unknown as AddressHandle, remoteQpn: 0, remoteQkey: WIREUP_QKEY };
  readonly #sendWr: SendWr = { id: 0n, opcode: 'SEND', sg: [this.#sendSge], ud: this.#ud };

  /** `idBase`: completions with ids from here to `idBase + 2 * 2^16` are this handshake's. */
  constructor(pd: ProtectionDomain, cq: CompletionQueue, idBase: number) {
    this.#pd = pd;
    this.#idBase = idBase;
    this.#recvPool = new BouncePool(pd, RECV_SLOTS, GRH_BYTES + MSG_BYTES, ['LOCAL_WRITE']);
    this.#sendPool = new BouncePool(pd, SEND_SLOTS, MSG_BYTES, ['LOCAL_WRITE']);
    this.#recvSge.mr = this.#recvPool.mr;
    this.#recvSge.length = GRH_BYTES + MSG_BYTES;
    this.#sendSge.mr = this.#sendPool.mr;
    this.qp = pd
      .createQp({ type: 'UD', sendCq: cq, recvCq: cq, cap: { maxSendWr: SEND_SLOTS, maxRecvWr: RECV_SLOTS, maxInlineData: 0 } })
      .activate({ qkey: WIREUP_QKEY });
    for (let slot = 0; slot < RECV_SLOTS; slot++) this.#repost(slot);
  }

  /** Our UD address, for the endpoint table. */
  endpoint(): Endpoint {
    return this.qp.endpoint();
  }

  /** Whether completion `id` belongs to the handshake. */
  owns(id: number): boolean {
    return id >= this.#idBase && id < this.#idBase + 2 * 65536;
  }

  /**
   * Sends one datagram to rank `to` at its UD address `remote`. False when
   * every send slot is in flight (the caller's retry timer sends it again).
   */
  send(to: number, remote: Endpoint, kind: WireupKind, from: number, qpn: number, psn: number): boolean {
    const slot = this.#sendPool.take();
    if (slot < 0) return false;
    const base = this.#sendPool.offset(slot);
    const v = this.#sendPool.view;
    v.setUint8(base, kind);
    v.setUint8(base + 1, VERSION);
    v.setUint16(base + 2, 0, true);
    v.setUint32(base + 4, from, true);
    v.setUint32(base + 8, qpn, true);
    v.setUint32(base + 12, psn, true);
    let ah = this.#ahs.get(to);
    if (ah === undefined) this.#ahs.set(to, (ah = this.#pd.createAh(remote)));
    this.#ud.ah = ah;
    this.#ud.remoteQpn = remote.qpn;
    this.#sendSge.offset = base;
    this.#sendWr.id = BigInt(this.#idBase + 65536 + slot);
    try {
      this.qp.postSend(this.#sendWr);
    } catch {
      this.#sendPool.give(slot);
      return false;
    }
    return true;
  }

  /**
   * Handles one of the handshake's completions: a send slot comes back, or a
   * datagram arrived (returned, its buffer reposted). `ok`/`byteLen` are the
   * completion's. Returns undefined for sends and for malformed datagrams.
   */
  complete(id: number, ok: boolean, byteLen: number, closing: boolean): WireupMessage | undefined {
    const k = id - this.#idBase;
    if (k >= 65536) {
      this.#sendPool.give(k - 65536);
      return undefined;
    }
    const slot = k;
    let msg: WireupMessage | undefined;
    if (ok && byteLen >= GRH_BYTES + MSG_BYTES) {
      const base = this.#recvPool.offset(slot) + GRH_BYTES;
      const v = this.#recvPool.view;
      const kind = v.getUint8(base);
      if ((kind === WIREUP.req || kind === WIREUP.rep) && v.getUint8(base + 1) === VERSION) {
        msg = { kind, from: v.getUint32(base + 4, true), qpn: v.getUint32(base + 8, true), psn: v.getUint32(base + 12, true) };
      }
    }
    if (!closing) this.#repost(slot);
    return msg;
  }

  #repost(slot: number): void {
    this.#recvWr.id = BigInt(this.#idBase + slot);
    this.#recvSge.offset = this.#recvPool.offset(slot);
    this.qp.postRecv(this.#recvWr);
  }
}
