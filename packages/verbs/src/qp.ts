/**
 * Queue pairs: the endpoints that move data; and `ProtectionDomain.createQp()`.
 *
 * A QP starts in `RESET`. To talk to a peer, both sides exchange an
 * {@link Endpoint} (any way they like: JSON over TCP, a file, rdma_cm) and
 * call {@link QueuePair.connect}, which walks `RESET -> INIT -> RTR -> RTS`
 * with sane defaults. {@link QueuePair.modify} gives full control. The
 * attribute sets and their raw encoding are in qp-attributes.ts; the data
 * types in types/qp.ts.
 * @module
 */
import { randomInt } from 'node:crypto';

import { assertOpen, instance, int, obj, optBool, optInt } from './check.js';
import { QP_TYPE, type Mtu, type QpState, type QpType } from './constants.js';
import { CompletionQueue } from './cq.js';
import { RecvDescriptors, SendDescriptors } from './descriptors.js';
import { checkEndpoint } from './endpoint.js';
import { rdmaError } from './errors.js';
import { formatGid } from './gid.js';
import { native, type NativeQueuePair } from './native.js';
import { ProtectionDomain } from './pd.js';
import { initAttributes, qpInfo, rawQpAttributes, rtrAttributes, rtsAttributes } from './qp-attributes.js';
import { VerbsResource, addMethods, handle } from './resource.js';
import { SharedReceiveQueue } from './srq.js';
import type { QpOptions } from './types/qp-options.js';
import type { ActivateOptions, ConnectOptions, Endpoint, EndpointOptions, QpAttributes, QpCap, QpInfo, QpPhase } from './types/qp.js';
import type { RecvWr, SendWr } from './types/work-requests.js';

const POSTABLE_SEND = new Set<QpState>(['RTS', 'SQD', 'SQE', 'ERR']);
const POSTABLE_RECV = new Set<QpState>(['INIT', 'RTR', 'RTS', 'SQD', 'SQE', 'ERR']);

let modifyRawOf: (qp: QueuePair, raw: Record<string, unknown>) => void;
let postBankOf: (qp: QueuePair, bank: number, count: number) => void;

/** A queue pair (`ibv_qp`). `P` tracks whether it is ready to send (see {@link QpPhase}). */
export class QueuePair<P extends QpPhase = QpPhase> extends VerbsResource {
  /** Type-level marker of the phase; not present at run time. */
  declare readonly phase: P;
  readonly #native: NativeQueuePair;
  /** The protection domain it lives in. */
  readonly pd: ProtectionDomain;
  /** Transport: `'RC'` reliable connected, `'UC'` unreliable connected, `'UD'` unreliable datagram. */
  readonly type: QpType;
  /** Where completions of send work requests go. */
  readonly sendCq: CompletionQueue;
  /** Where completions of receive work requests go (may be {@link sendCq}). */
  readonly recvCq: CompletionQueue;
  /** The SRQ it receives from, or null. */
  readonly srq: SharedReceiveQueue | null;
  /** QP number. */
  readonly qpn: number;
  /** Actual capacities. */
  readonly cap: Readonly<Required<QpCap>>;
  #state: QpState = 'RESET';
  #send: SendDescriptors;
  #recv: RecvDescriptors;
  #port = 1;
  #gidIndex: number | undefined;
  #psn = randomInt(0, 1 << 24);
  #qkey: number | undefined;

  static {
    modifyRawOf = (qp, raw) => qp.#modifyRaw(raw);
    postBankOf = (qp, bank, count) => qp.#postBank(bank, count);
  }

  /** @internal Use {@link ProtectionDomain.createQp}. */
  constructor(pd: ProtectionDomain, options: QpOptions) {
    const m = 'ibv_create_qp';
    const o = obj<QpOptions>(m, 'options', options);
    const type = o.type ?? 'RC';
    if (type !== 'RC' && type !== 'UC' && type !== 'UD') throw new RangeError(`${m}: type must be 'RC', 'UC' or 'UD', got ${String(type)}`);
    const sendCq = instance(m, 'sendCq', o.sendCq, CompletionQueue);
    const recvCq = o.recvCq === undefined ? sendCq : instance(m, 'recvCq', o.recvCq, CompletionQueue);
    const srq = o.srq === undefined ? undefined : instance(m, 'srq', o.srq, SharedReceiveQueue);
    const cap = obj<QpCap>(m, 'cap', o.cap ?? {});
    const qp = new native.QueuePair(handle(pd), {
      type: QP_TYPE[type],
      sendCq: handle(sendCq),
      recvCq: handle(recvCq),
      ...(srq ? { srq: handle(srq) } : {}),
      maxSendWr: optInt(m, 'cap.maxSendWr', cap.maxSendWr, 128, 1, 1 << 20),
      maxRecvWr: optInt(m, 'cap.maxRecvWr', cap.maxRecvWr, 128, 1, 1 << 20),
      maxSendSge: optInt(m, 'cap.maxSendSge', cap.maxSendSge, 1, 1, 64),
      maxRecvSge: optInt(m, 'cap.maxRecvSge', cap.maxRecvSge, 1, 1, 64),
      maxInlineData: optInt(m, 'cap.maxInlineData', cap.maxInlineData, 0, 0, 1 << 16),
      sqSigAll: optBool(m, 'sqSigAll', o.sqSigAll, false),
    }) as NativeQueuePair;
    super(qp);
    this.#native = qp;
    this.pd = pd;
    this.type = type;
    this.sendCq = sendCq;
    this.recvCq = recvCq;
    this.srq = srq ?? null;
    this.qpn = this.#native.qpn;
    this.cap = Object.freeze({ ...this.#native.cap });
    this.#send = new SendDescriptors(this.cap.maxSendWr, this.cap.maxSendSge);
    this.#recv = new RecvDescriptors(srq ? 0 : this.cap.maxRecvWr, Math.max(1, this.cap.maxRecvSge));
    this.#native.bindDescriptors(this.#send.buffer, srq ? undefined : this.#recv.buffer);
  }

  /** Send and receive work requests posted whose completions have not been reaped yet. */
  get outstanding(): {
    /** Send work requests in flight. */
    send: number;
    /** Receive work requests posted and not yet completed (0 with an SRQ). */
    recv: number;
  } {
    return this.#native.outstanding;
  }

  /** State after the last transition made through this object (see {@link query} for the device's view). */
  get state(): QpState {
    return this.closed ? 'RESET' : this.#state;
  }

  /**
   * This QP's endpoint, to hand to the peer. Also fixes the local port and
   * GID that {@link connect} will use.
   */
  endpoint(options: EndpointOptions = {}): Endpoint {
    const m = 'QueuePair.endpoint';
    assertOpen(this.closed, m, 'QueuePair');
    obj(m, 'options', options);
    const ctx = this.pd.context;
    this.#port = optInt(m, 'port', options.port, 1, 1, 255);
    const port = ctx.queryPort(this.#port);
    let gid: string;
    if (options.gidIndex !== undefined) {
      const index = int(m, 'gidIndex', options.gidIndex, 0, 255);
      const entry = ctx.gidTable(this.#port).find((e) => e.index === index);
      if (!entry) throw rdmaError('ibv_query_gid', 'EINVAL', `${ctx.name} port ${this.#port} has no valid GID at index ${index}`);
      this.#gidIndex = index;
      gid = entry.gid;
    } else if (port.linkLayer === 'ETHERNET') {
      const entry = ctx.defaultGid(this.#port);
      this.#gidIndex = entry.index;
      gid = entry.gid;
    } else {
      const entry = ctx.gidTable(this.#port)[0];
      this.#gidIndex = entry?.index;
      gid = entry?.gid ?? formatGid(new Uint8Array(16));
    }
    const ep: Endpoint = { qpn: this.qpn, psn: this.#psn, gid, lid: port.lid, port: this.#port, mtu: port.activeMtu as Mtu };
    if (this.#qkey !== undefined) ep.qkey = this.#qkey;
    return ep;
  }

  /**
   * Makes a UD QP usable: `RESET -> INIT -> RTR -> RTS` with its qkey. UD
   * QPs have no peer; each send names its destination (`ud` in {@link SendWr}).
   * @throws TypeError on a non-UD QP; {@link RdmaError} when a transition fails.
   */
  activate(options: ActivateOptions = {}): QueuePair<'ready'> {
    const m = 'QueuePair.activate';
    assertOpen(this.closed, m, 'QueuePair');
    if (this.type !== 'UD') throw new TypeError(`${m}: only UD QPs are activated; connect() an ${this.type} QP`);
    obj(m, 'options', options);
    const qkey = optInt(m, 'qkey', options.qkey, 0x11111111, 0, 0xffffffff);
    if (this.#gidIndex === undefined) this.endpoint();
    this.modify({ qpState: 'INIT', pkeyIndex: options.pkeyIndex ?? 0, portNum: this.#port, qkey });
    this.modify({ qpState: 'RTR' });
    this.modify({ qpState: 'RTS', sqPsn: this.#psn });
    this.#qkey = qkey;
    return this as QueuePair<'ready'>;
  }

  /**
   * Connects to a peer's endpoint: `RESET -> INIT -> RTR -> RTS`. Calls
   * {@link endpoint} first if you have not. Returns this QP, typed ready.
   * Both sides must connect before either sends: until the peer reaches RTR
   * its device drops (RC: NAKs) our packets.
   * @throws TypeError on a UD QP or a malformed endpoint; {@link RdmaError}
   * (`EINVAL` from `ibv_modify_qp`) when a transition is refused.
   */
  connect(remote: Endpoint, options: ConnectOptions = {}): QueuePair<'ready'> {
    const m = 'QueuePair.connect';
    assertOpen(this.closed, m, 'QueuePair');
    if (this.type === 'UD') throw new TypeError(`${m}: UD QPs have no peer; use activate()`);
    const r = checkEndpoint(m, remote);
    obj(m, 'options', options);
    if (this.#gidIndex === undefined) this.endpoint();
    this.toInit(options);
    this.toRtr(r, options);
    return this.toRts(options);
  }

  /**
   * This QP typed ready, after transitions made by hand ({@link modify},
   * the `to*` helpers). Throws EINVAL unless it is in RTS or SQD.
   */
  ready(): QueuePair<'ready'> {
    assertOpen(this.closed, 'QueuePair.ready', 'QueuePair');
    if (this.#state !== 'RTS' && this.#state !== 'SQD') {
      throw rdmaError('QueuePair.ready', 'EINVAL', `QP ${this.qpn} is in state ${this.#state}, not RTS`);
    }
    return this as QueuePair<'ready'>;
  }

  /** `RESET -> INIT`: port, partition and the rights peers get. */
  toInit(options: ConnectOptions = {}): void {
    this.modify(initAttributes(this.type, this.#port, options));
  }

  /** `INIT -> RTR`: where the peer is and what it will send. */
  toRtr(remote: Endpoint, options: ConnectOptions = {}): void {
    const m = 'QueuePair.toRtr';
    const r = checkEndpoint(m, remote);
    if (this.#gidIndex === undefined) this.endpoint();
    const ctx = this.pd.context;
    this.modify(rtrAttributes(m, this.type, this.#port, this.#gidIndex, ctx.queryPort(this.#port), () => ctx.queryDevice(), r, options));
  }

  /** `RTR -> RTS`: send-side timers and this side's PSN. Returns this QP, typed ready. */
  toRts(options: ConnectOptions = {}): QueuePair<'ready'> {
    const ctx = this.pd.context;
    this.modify(rtsAttributes(this.type, this.#psn, () => ctx.queryDevice(), options));
    return this as QueuePair<'ready'>;
  }

  /**
   * Applies the given attributes (`ibv_modify_qp`); only present fields are set.
   * @throws {@link RdmaError} `EINVAL` for an illegal transition or attribute set, `EBADF` when closed.
   */
  modify(attributes: QpAttributes): void {
    const m = 'ibv_modify_qp';
    assertOpen(this.closed, m, 'QueuePair');
    this.#native.modify(rawQpAttributes(m, attributes));
    this.#state = this.#native.state as QpState;
  }

  // Applies raw (numeric) attributes, e.g. from rdma_init_qp_attr (cm).
  #modifyRaw(raw: Record<string, unknown>): void {
    assertOpen(this.closed, 'ibv_modify_qp', 'QueuePair');
    this.#native.modify(raw);
    this.#state = this.#native.state as QpState;
  }

  /** Reads the QP's attributes from the device (and refreshes {@link state}). */
  query(): QpInfo {
    const info = qpInfo(this.#native.query());
    this.#state = info.qpState;
    return info;
  }

  /**
   * Posts one work request or a chain of them (one doorbell). Validates
   * every request before posting any. Throws RdmaError on refusal, with
   * `posted` = how many of the list went out.
   *
   * @param count With an array: post only its first `count` requests
   *   (default all), so one preallocated array serves batches of any size.
   *   For the same requests again and again, {@link prepareSend} skips
   *   re-encoding them.
   */
  postSend(this: QueuePair<'ready'>, wrs: SendWr | readonly SendWr[], count?: number): void {
    const m = 'ibv_post_send';
    // No `closed` check here: the addon refuses a closed QP (EBADF) and any
    // SGE whose region is closed, and each check from JS is an N-API call.
    if (!POSTABLE_SEND.has(this.#state)) {
      assertOpen(this.closed, m, 'QueuePair');
      throw rdmaError(m, 'EINVAL', `QP ${this.qpn} is in state ${this.#state}; connect() it (to RTS) before sending`);
    }
    const pd = this.pd;
    const maxInline = this.cap.maxInlineData;
    const ud = this.type === 'UD';
    if (Array.isArray(wrs)) {
      const n = count === undefined ? wrs.length : int(m, 'count', count, 0, wrs.length);
      if (n === 0) return assertOpen(this.closed, m, 'QueuePair'); // nothing for the addon to refuse
      if (n > this.#send.slots) throw new RangeError(`${m}: ${n} work requests exceed the send queue depth ${this.#send.slots}`);
      for (let i = 0; i < n; i++) this.#send.write(m, i, wrs[i], pd, maxInline, ud);
      this.#native.postSend(n);
    } else {
      this.#send.write(m, 0, wrs as SendWr, pd, maxInline, ud);
      this.#native.postSend(1);
    }
  }

  // Posts `count` requests of a prepared set's descriptor bank (prepared.ts).
  #postBank(bank: number, count: number): void {
    if (!POSTABLE_SEND.has(this.#state)) {
      assertOpen(this.closed, 'ibv_post_send', 'QueuePair');
      throw rdmaError('ibv_post_send', 'EINVAL', `QP ${this.qpn} is in state ${this.#state}; connect() it (to RTS) before sending`);
    }
    this.#native.postSend(count, bank);
  }

  /**
   * Posts one receive work request or a chain of them (`ibv_post_recv`). Each
   * buffer stays referenced until its completion is reaped.
   * @throws TypeError when the QP receives through an SRQ; {@link RdmaError}
   * `EINVAL` before INIT, `EBADF` when closed; RangeError above the queue depth.
   */
  postRecv(wrs: RecvWr | readonly RecvWr[]): void {
    const m = 'ibv_post_recv';
    if (this.srq) throw new TypeError(`${m}: QP ${this.qpn} receives through its SRQ; post to the SRQ`);
    if (!POSTABLE_RECV.has(this.#state)) {
      assertOpen(this.closed, m, 'QueuePair');
      throw rdmaError(m, 'EINVAL', `QP ${this.qpn} is in state ${this.#state}; move it to INIT or later before posting receives`);
    }
    const pd = this.pd;
    if (Array.isArray(wrs)) {
      const n = wrs.length;
      if (n === 0) return assertOpen(this.closed, m, 'QueuePair');
      if (n > this.#recv.slots) throw new RangeError(`${m}: ${n} work requests exceed the receive queue depth ${this.#recv.slots}`);
      for (let i = 0; i < n; i++) this.#recv.write(m, i, wrs[i], pd);
      this.#native.postRecv(n);
    } else {
      this.#recv.write(m, 0, wrs as RecvWr, pd);
      this.#native.postRecv(1);
    }
  }

  /** Destroys the QP; outstanding work is flushed. Harmless when already closed. */
  override close(): void {
    super.close();
  }
}

/** @internal Applies raw attributes to `qp` and records its new state (rdma_cm's connect path). */
export function modifyRaw(qp: QueuePair, raw: Record<string, unknown>): void {
  modifyRawOf(qp, raw);
}

/** @internal Posts `count` requests of descriptor bank `bank` on `qp`, after the same state check as postSend. */
export function postBank(qp: QueuePair, bank: number, count: number): void {
  postBankOf(qp, bank, count);
}

declare module './pd.js' {
  interface ProtectionDomain {
    /**
     * Creates a queue pair in this PD, in state RESET. It becomes usable for
     * sends through {@link QueuePair.connect} (RC, UC) or {@link QueuePair.activate} (UD).
     * @throws TypeError / RangeError for bad options (e.g. no `sendCq`, an
     * unknown `type`); {@link RdmaError} from `ibv_create_qp` (`EINVAL` when `cap`
     * exceeds the device's limits, `ENOMEM`).
     */
    createQp(options: QpOptions): QueuePair<'prepared'>;
  }
}

addMethods(ProtectionDomain, {
  createQp(options: QpOptions): QueuePair<'prepared'> {
    assertOpen(this.closed, 'ibv_create_qp', 'ProtectionDomain');
    return new QueuePair(this, options);
  },
});
