/**
 * Plain data of queue pairs and shared receive queues: capacities, the
 * {@link Endpoint} peers exchange, connection options, attributes.
 * No classes here: these are what callers build, send and read.
 * @module
 */
import type { Access, Mtu, QpState } from '../constants.js';

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
  /** Transport retries (0-7). Default 7. rxe (SoftRoCE) reads 7 as "forever": there a QP whose peer is gone never fails. */
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
  /** Retries after a timeout before the QP errors (RTS, RC; 0-7; rxe reads 7 as forever). */
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

/**
 * Where a QP stands, in the type system: `'prepared'` from
 * {@link ProtectionDomain.createQp}, `'ready'` once {@link QueuePair.connect}
 * (RC/UC) or {@link QueuePair.activate} (UD) returns it. Only a ready QP has
 * a callable {@link QueuePair.postSend}; the runtime state is checked too.
 */
export type QpPhase = 'prepared' | 'ready';

/** Options of {@link ProtectionDomain.createSrq}. */
export interface SrqOptions {
  /** Outstanding receives. Default 256. */
  maxWr?: number;
  /** SGEs per receive. Default 1. */
  maxSge?: number;
  /**
   * Arm the limit event: the device raises an async `SRQ_LIMIT_REACHED`
   * event once fewer than this many receives remain. 0 (default) = off.
   */
  srqLimit?: number;
}
