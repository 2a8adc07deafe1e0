/**
 * Queue pairs: the endpoints that move data.
 *
 * A QP starts in `RESET`. To talk to a peer, both sides exchange an
 * {@link Endpoint} (any way they like: JSON over TCP, a file, rdma_cm) and
 * call {@link QueuePair.connect}, which walks `RESET -> INIT -> RTR -> RTS`
 * with sane defaults. {@link QueuePair.modify} gives full control.
 * @module
 */
import { randomInt } from 'node:crypto';

import { assertOpen, instance, int, obj, optBool, optInt } from './check.js';
import { QP_STATE, QP_STATE_NAME, QP_TYPE, accessMask, accessNames, mtuBytes, mtuEnum, type Access, type Mtu, type QpState, type QpType } from './constants.js';
import { CompletionQueue } from './cq.js';
import { rawAhAttr } from './ah.js';
import { SharedReceiveQueue } from './srq.js';
import { RecvDescriptors, SendDescriptors, type RecvWr, type SendWr } from './descriptors.js';
import { PreparedSends } from './prepared.js';
import { rdmaError } from './errors.js';
import { formatGid, parseGid } from './gid.js';
import { native, type NativeQueuePair } from './native.js';
import type { ProtectionDomain } from './pd.js';

/** Queue capacities. The device may round them up; {@link QueuePair.cap} holds the result. */
export interface QpCap {
  /** Outstanding send work requests. Default 128. */
  maxSendWr?: number;
  /** Outstanding receive work requests. Default 128. */
  maxRecvWr?: number;
  /** SGEs per send work request. Default 1. */
  maxSendSge?: number;
  /** SGEs per receive work request. Default 1. */
  maxRecvSge?: number;
  /** Bytes a send may carry inline. Default 0. */
  maxInlineData?: number;
}

/** Options of {@link ProtectionDomain.createQp}. */
export interface QpOptions {
  /** Default `'RC'`. */
  type?: QpType;
  /** CQ for send completions. */
  sendCq: CompletionQueue;
  /** CQ for receive completions. Default: `sendCq`. */
  recvCq?: CompletionQueue;
  /** Take receives from this shared receive queue (the QP then has no receive queue of its own). */
  srq?: SharedReceiveQueue;
  /** Queue depths and limits. Defaults: 128 work requests each way, one SGE each, no inline data. */
  cap?: QpCap;
  /** Signal every send, whatever its `signaled` flag. Default false. */
  sqSigAll?: boolean;
}

/**
 * Everything a peer needs to connect to a QP. Plain data: `JSON.stringify`
 * it, send it, `JSON.parse` it on the other side.
 */
export interface Endpoint {
  /** QP number. */
  qpn: number;
  /** Initial packet sequence number of this side's send queue. */
  psn: number;
  /** Port GID in eight-group text form. */
  gid: string;
  /** Port LID (InfiniBand; 0 on RoCE). */
  lid: number;
  /** Port number. */
  port: number;
  /** Active MTU in bytes. */
  mtu: Mtu;
  /** UD only: the qkey senders must use. */
  qkey?: number;
}

/** Options of {@link QueuePair.endpoint}. */
export interface EndpointOptions {
  /** Local port. Default 1. */
  port?: number;
  /** Local GID index. Default: {@link Context.defaultGid}. */
  gidIndex?: number;
}

/** Options of {@link QueuePair.activate} (UD QPs). */
export interface ActivateOptions {
  /** The qkey this QP accepts; senders put it in `ud.remoteQkey`. Default 0x11111111. */
  qkey?: number;
  /** Partition key index. Default 0. */
  pkeyIndex?: number;
}

/** Options of {@link QueuePair.connect} and the `to*` helpers. */
export interface ConnectOptions {
  /** Rights peers get on this QP. Default: remote write, read and atomics. */
  access?: readonly Access[];
  /** Path MTU; default the smaller of both sides' active MTUs. */
  mtu?: Mtu;
  /** Partition key index. Default 0. */
  pkeyIndex?: number;
  /** Service level. Default 0. */
  sl?: number;
  /** GRH traffic class. Default 0. */
  trafficClass?: number;
  /** GRH hop limit. Default 64. */
  hopLimit?: number;
  /** Local ACK timeout, 4.096 µs * 2^timeout. Default 14 (~67 ms). */
  timeout?: number;
  /** Transport retries. Default 7. */
  retryCnt?: number;
  /** Receiver-not-ready retries (7 = forever). Default 7. */
  rnrRetry?: number;
  /** RNR NAK timer code. Default 12 (0.64 ms). */
  minRnrTimer?: number;
  /** Outstanding RDMA reads/atomics this side issues. Default: device max, up to 16. */
  maxRdAtomic?: number;
  /** Outstanding RDMA reads/atomics this side serves. Default: device max, up to 16. */
  maxDestRdAtomic?: number;
}

/** Address vector attributes (`ibv_ah_attr`) for {@link QpAttributes}: how to reach the peer. */
export interface AhAttributes {
  /** Destination LID (InfiniBand; 0 on RoCE). */
  dlid?: number;
  /** Service level, 0-15. */
  sl?: number;
  /** Low LID bits of the source path, with LMC (IB only). */
  srcPathBits?: number;
  /** Injection rate limit code (`ibv_rate`); 0 = port speed. */
  staticRate?: number;
  /** Local port the peer is reached through (1-based). */
  portNum?: number;
  /** Global routing header; required on RoCE. */
  grh?: {
    /** Destination GID, as text or 16 bytes. */
    dgid: string | Uint8Array;
    /** IPv6 flow label (20 bits). */
    flowLabel?: number;
    /** Index of the local GID to send from. */
    sgidIndex?: number;
    /** Hop limit / TTL. */
    hopLimit?: number;
    /** Traffic class / DSCP byte. */
    trafficClass?: number;
  };
}

/**
 * QP attributes for {@link QueuePair.modify}: each present field is applied.
 * Which fields a transition requires follows the verbs spec (`ibv_modify_qp(3)`);
 * a missing or extra one fails with EINVAL.
 */
export interface QpAttributes {
  /** State to move to. */
  qpState?: QpState;
  /** State the QP is assumed to be in (rarely needed). */
  curQpState?: QpState;
  /** Path MTU in bytes (RTR). */
  pathMtu?: Mtu;
  /** UD: the qkey this QP accepts (INIT). */
  qkey?: number;
  /** First packet sequence number expected from the peer, 24 bits (RTR). */
  rqPsn?: number;
  /** First packet sequence number this side sends, 24 bits (RTS). */
  sqPsn?: number;
  /** The peer's QP number (RTR, RC/UC). */
  destQpNum?: number;
  /** Rights peers get on this QP: `REMOTE_WRITE`, `REMOTE_READ`, `REMOTE_ATOMIC` (INIT). */
  access?: readonly Access[];
  /** Partition key index (INIT). */
  pkeyIndex?: number;
  /** Local port, 1-based (INIT). */
  portNum?: number;
  /** Where the peer is (RTR, RC/UC). */
  ahAttr?: AhAttributes;
  /** Local ACK timeout code: 4.096 µs * 2^timeout, 0 = infinite (RTS, RC). */
  timeout?: number;
  /** Retries after a timeout before the QP errors (RTS, RC; 0-7). */
  retryCnt?: number;
  /** Retries after a receiver-not-ready NAK; 7 = forever (RTS, RC). */
  rnrRetry?: number;
  /** RNR NAK timer code this side asks senders to wait (RTR, RC). */
  minRnrTimer?: number;
  /** RDMA READ / atomic requests this side may have in flight (RTS, RC). */
  maxRdAtomic?: number;
  /** RDMA READ / atomic requests this side serves at once (RTR, RC). */
  maxDestRdAtomic?: number;
}

/** What {@link QueuePair.query} returns: the fields of {@link QpAttributes} as the device holds them. */
export interface QpInfo {
  /** Current state. */
  qpState: QpState;
  /** Path MTU in bytes. */
  pathMtu: Mtu;
  /** UD: the qkey this QP accepts. */
  qkey: number;
  /** Next packet sequence number expected from the peer. */
  rqPsn: number;
  /** Next packet sequence number to send. */
  sqPsn: number;
  /** The peer's QP number (RC/UC). */
  destQpNum: number;
  /** Rights peers have on this QP. */
  access: Access[];
  /** Partition key index. */
  pkeyIndex: number;
  /** Local port (1-based). */
  portNum: number;
  /** Local ACK timeout code (4.096 µs * 2^timeout). */
  timeout: number;
  /** Transport retry count. */
  retryCnt: number;
  /** Receiver-not-ready retry count (7 = forever). */
  rnrRetry: number;
  /** RNR NAK timer code. */
  minRnrTimer: number;
  /** RDMA READ / atomic requests in flight as initiator. */
  maxRdAtomic: number;
  /** RDMA READ / atomic requests served as responder. */
  maxDestRdAtomic: number;
  /** Whether every send request generates a completion. */
  sqSigAll: boolean;
  /** Actual capacities. */
  cap: Required<QpCap>;
  /** Where the peer is. */
  ahAttr: {
    /** Destination LID (0 on RoCE). */
    dlid: number;
    /** Service level. */
    sl: number;
    /** Source path bits. */
    srcPathBits: number;
    /** Static rate code. */
    staticRate: number;
    /** Local port. */
    portNum: number;
    /** Global routing header, when one is used (always on RoCE). */
    grh?: {
      /** Destination GID in text form. */
      dgid: string;
      /** Flow label. */
      flowLabel: number;
      /** Local GID index. */
      sgidIndex: number;
      /** Hop limit. */
      hopLimit: number;
      /** Traffic class. */
      trafficClass: number;
    };
  };
}

const POSTABLE_SEND = new Set<QpState>(['RTS', 'SQD', 'SQE', 'ERR']);
const POSTABLE_RECV = new Set<QpState>(['INIT', 'RTR', 'RTS', 'SQD', 'SQE', 'ERR']);

/**
 * Validates a peer's endpoint (it may come from the network) and returns it
 * typed. `method` prefixes the error messages.
 * @throws TypeError / RangeError naming the bad field.
 */
export function checkEndpoint(method: string, value: unknown): Endpoint {
  const e = obj<Partial<Endpoint>>(method, 'remote endpoint', value);
  int(method, 'remote.qpn', e.qpn, 1, 0xffffff);
  int(method, 'remote.psn', e.psn, 0, 0xffffff);
  int(method, 'remote.lid', e.lid, 0, 0xffff);
  int(method, 'remote.port', e.port, 1, 255);
  mtuEnum(int(method, 'remote.mtu', e.mtu, 256, 4096));
  if (typeof e.gid !== 'string') throw new TypeError(`${method}: remote.gid must be a string`);
  parseGid(e.gid);
  return e as Endpoint;
}

/**
 * Where a QP stands, in the type system: `'prepared'` from
 * {@link ProtectionDomain.createQp}, `'ready'` once {@link QueuePair.connect}
 * (RC/UC) or {@link QueuePair.activate} (UD) returns it. Only a ready QP has
 * a callable {@link QueuePair.postSend}; the runtime state is checked too.
 */
export type QpPhase = 'prepared' | 'ready';

/** A queue pair (`ibv_qp`). `P` tracks whether it is ready to send (see {@link QpPhase}). */
export class QueuePair<P extends QpPhase = QpPhase> implements Disposable {
  /** Type-level marker of the phase; not present at run time. */
  declare readonly phase: P;
  /** @internal */ readonly _native: NativeQueuePair;
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
    this._native = new native.QueuePair(pd._native, {
      type: QP_TYPE[type],
      sendCq: sendCq._native,
      recvCq: recvCq._native,
      ...(srq ? { srq: srq._native } : {}),
      maxSendWr: optInt(m, 'cap.maxSendWr', cap.maxSendWr, 128, 1, 1 << 20),
      maxRecvWr: optInt(m, 'cap.maxRecvWr', cap.maxRecvWr, 128, 1, 1 << 20),
      maxSendSge: optInt(m, 'cap.maxSendSge', cap.maxSendSge, 1, 1, 64),
      maxRecvSge: optInt(m, 'cap.maxRecvSge', cap.maxRecvSge, 1, 1, 64),
      maxInlineData: optInt(m, 'cap.maxInlineData', cap.maxInlineData, 0, 0, 1 << 16),
      sqSigAll: optBool(m, 'sqSigAll', o.sqSigAll, false),
    });
    this.pd = pd;
    this.type = type;
    this.sendCq = sendCq;
    this.recvCq = recvCq;
    this.srq = srq ?? null;
    this.qpn = this._native.qpn;
    this.cap = Object.freeze({ ...this._native.cap });
    this.#send = new SendDescriptors(this.cap.maxSendWr, this.cap.maxSendSge);
    this.#recv = new RecvDescriptors(srq ? 0 : this.cap.maxRecvWr, Math.max(1, this.cap.maxRecvSge));
    this._native.bindDescriptors(this.#send.buffer, srq ? undefined : this.#recv.buffer);
  }

  /** True once closed (directly or by closing its PD, CQs or device). */
  get closed(): boolean {
    return this._native.closed;
  }

  /** Send and receive work requests posted whose completions have not been reaped yet. */
  get outstanding(): {
    /** Send work requests in flight. */
    send: number;
    /** Receive work requests posted and not yet completed (0 with an SRQ). */
    recv: number;
  } {
    return this._native.outstanding;
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
    const access = options.access ?? (this.type === 'RC' ? ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ', 'REMOTE_ATOMIC'] : ['LOCAL_WRITE', 'REMOTE_WRITE']);
    this.modify({ qpState: 'INIT', pkeyIndex: options.pkeyIndex ?? 0, portNum: this.#port, access });
  }

  /** `INIT -> RTR`: where the peer is and what it will send. */
  toRtr(remote: Endpoint, options: ConnectOptions = {}): void {
    const m = 'QueuePair.toRtr';
    const r = checkEndpoint(m, remote);
    if (this.#gidIndex === undefined) this.endpoint();
    const ctx = this.pd.context;
    const port = ctx.queryPort(this.#port);
    const mtu = options.mtu ?? (Math.min(port.activeMtu, r.mtu) as Mtu);
    const global = port.linkLayer === 'ETHERNET' || r.lid === 0;
    const attrs: QpAttributes = {
      qpState: 'RTR',
      pathMtu: mtu,
      destQpNum: r.qpn,
      rqPsn: r.psn,
      ahAttr: {
        dlid: r.lid,
        sl: optInt(m, 'sl', options.sl, 0, 0, 15),
        portNum: this.#port,
        ...(global
          ? { grh: { dgid: r.gid, sgidIndex: this.#gidIndex ?? 0, hopLimit: options.hopLimit ?? 64, trafficClass: options.trafficClass ?? 0 } }
          : {}),
      },
    };
    if (this.type === 'RC') {
      attrs.maxDestRdAtomic = options.maxDestRdAtomic ?? Math.min(ctx.queryDevice().maxQpRdAtom, 16);
      attrs.minRnrTimer = options.minRnrTimer ?? 12;
    }
    this.modify(attrs);
  }

  /** `RTR -> RTS`: send-side timers and this side's PSN. Returns this QP, typed ready. */
  toRts(options: ConnectOptions = {}): QueuePair<'ready'> {
    const attrs: QpAttributes = { qpState: 'RTS', sqPsn: this.#psn };
    if (this.type === 'RC') {
      attrs.timeout = options.timeout ?? 14;
      attrs.retryCnt = options.retryCnt ?? 7;
      attrs.rnrRetry = options.rnrRetry ?? 7;
      attrs.maxRdAtomic = options.maxRdAtomic ?? Math.min(this.pd.context.queryDevice().maxQpInitRdAtom, 16);
    }
    this.modify(attrs);
    return this as QueuePair<'ready'>;
  }

  /**
   * Applies the given attributes (`ibv_modify_qp`); only present fields are set.
   * @throws {@link RdmaError} `EINVAL` for an illegal transition or attribute set, `EBADF` when closed.
   */
  modify(attributes: QpAttributes): void {
    const m = 'ibv_modify_qp';
    assertOpen(this.closed, m, 'QueuePair');
    const a = obj<QpAttributes>(m, 'attributes', attributes);
    const raw: Record<string, unknown> = {};
    const state = (name: string, s: QpState | undefined) => {
      if (s === undefined) return;
      const v = QP_STATE[s];
      if (v === undefined) throw new RangeError(`${m}: ${name} '${String(s)}' is not a QP state`);
      raw[name] = v;
    };
    state('qpState', a.qpState);
    state('curQpState', a.curQpState);
    if (a.pathMtu !== undefined) raw.pathMtu = mtuEnum(a.pathMtu);
    if (a.access !== undefined) raw.qpAccessFlags = accessMask(m, a.access);
    for (const k of ['qkey', 'rqPsn', 'sqPsn', 'destQpNum', 'pkeyIndex', 'portNum', 'timeout', 'retryCnt', 'rnrRetry', 'minRnrTimer', 'maxRdAtomic', 'maxDestRdAtomic'] as const) {
      if (a[k] !== undefined) raw[k] = a[k];
    }
    if (a.ahAttr !== undefined) raw.ahAttr = rawAhAttr(m, a.ahAttr);
    this._native.modify(raw);
    this.#state = this._native.state as QpState;
  }

  /** @internal Applies raw (numeric) attributes, e.g. from rdma_init_qp_attr. */
  _modifyRaw(raw: Record<string, unknown>): void {
    assertOpen(this.closed, 'ibv_modify_qp', 'QueuePair');
    this._native.modify(raw);
    this.#state = this._native.state as QpState;
  }

  /** Reads the QP's attributes from the device (and refreshes {@link state}). */
  query(): QpInfo {
    const q = this._native.query() as Record<string, unknown> & { ahAttr: Record<string, unknown> & { grh?: Record<string, unknown> } };
    this.#state = QP_STATE_NAME[q.qpState as number]!;
    const { qpAccessFlags, ...rest } = q;
    const grh = q.ahAttr.grh;
    return {
      ...(rest as unknown as QpInfo),
      qpState: this.#state,
      pathMtu: mtuBytes(q.pathMtu as number),
      access: accessNames(qpAccessFlags as number),
      ahAttr: { ...(q.ahAttr as unknown as QpInfo['ahAttr']), ...(grh ? { grh: { ...(grh as unknown as NonNullable<QpInfo['ahAttr']['grh']>), dgid: formatGid(grh.dgid as Buffer) } } : {}) },
    };
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
      this._native.postSend(n);
    } else {
      this.#send.write(m, 0, wrs as SendWr, pd, maxInline, ud);
      this._native.postSend(1);
    }
  }

  /**
   * Validates and encodes send work requests once; the returned set posts
   * them with one native call each ({@link PreparedSends.post}) and changes
   * single fields in place between posts. Up to `cap.maxSendWr` requests.
   */
  prepareSend(this: QueuePair<'ready'>, wrs: readonly SendWr[]): PreparedSends {
    assertOpen(this.closed, 'QueuePair.prepareSend', 'QueuePair');
    return new PreparedSends(this, wrs);
  }

  /** @internal Posts `count` requests of a prepared set's descriptor bank. */
  _postBank(bank: number, count: number): void {
    if (!POSTABLE_SEND.has(this.#state)) {
      assertOpen(this.closed, 'ibv_post_send', 'QueuePair');
      throw rdmaError('ibv_post_send', 'EINVAL', `QP ${this.qpn} is in state ${this.#state}; connect() it (to RTS) before sending`);
    }
    this._native.postSend(count, bank);
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
      this._native.postRecv(n);
    } else {
      this.#recv.write(m, 0, wrs as RecvWr, pd);
      this._native.postRecv(1);
    }
  }

  /** Destroys the QP; outstanding work is flushed. Harmless when already closed. */
  close(): void {
    this._native.close();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
