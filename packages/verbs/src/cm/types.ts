/**
 * Plain data types of the rdma_cm API: addresses, transports and the
 * options of connect, listen, accept and next. The classes live in their
 * own modules.
 * @module
 */
import type { ProtectionDomain } from '../pd.js';
import type { QueuePair } from '../qp.js';
import type { QpOptions } from '../types/qp-options.js';

/** An IP endpoint of a connection. */
export interface CmAddress {
  /** Numeric IP address, e.g. `'10.9.0.1'`. */
  address: string;
  /** rdma_cm port (its own port space, not TCP's). */
  port: number;
  /** Address family. */
  family: 'IPv4' | 'IPv6';
}

/**
 * Transport of an rdma_cm connection: `'RC'` (reliable connected; the
 * default) or `'UD'` (unreliable datagram, rdma_cm's UDP port space).
 */
export type CmType = 'RC' | 'UD';


/** The QP to create for a connection: {@link QpOptions} without `type` (the connection's type decides). */
export type CmQpOptions = Omit<QpOptions, 'type'>;

/** What both sides of a connection set up. */
export interface CmConnectionOptions {
  /** Protection domain for the QP; must be on the device the address resolves to. */
  pd: ProtectionDomain;
  /** The QP to create (CQs, depths); rdma_cm moves it through its states. */
  qp: CmQpOptions;
  /** Sent to the peer. RC: connect up to 55 bytes, accept up to 195; UD: connect up to 179, accept up to 135. */
  privateData?: Uint8Array;
  /** Called with the QP in INIT, before the peer can send: post receives here. */
  prepare?: (qp: QueuePair) => void;
  /** RC: outstanding RDMA reads/atomics each side may have. Default 1... 16 by device. */
  rdmaDepth?: number;
}

/** Options of {@link ConnectionRequest.accept}. */
export interface AcceptOptions extends CmConnectionOptions {
  /** RC: bound on the wait for the peer's confirmation (ESTABLISHED). Default 10 s. */
  timeoutMs?: number;
  /**
   * RC: resolve as soon as the accept is sent, without waiting for the
   * peer's confirmation. The QP can receive at once, but must not send
   * before the peer is ready: until `conn.established` (event
   * `'established'`) or the first message from the peer. A handshake that
   * fails later shows as `'disconnected'`. Providers without the
   * "communication established" event (rxe) then do not stall a peer that
   * sends at once while the confirmation is slow.
   */
  early?: boolean;
}

/** Options of {@link connect}. Also exported as {@link CmConnectOptions}. */
export interface ConnectOptions extends CmConnectionOptions {
  /** The listener's IP address or host name (resolved once, through DNS). */
  host: string;
  /** The listener's port. */
  port: number;
  /** Local address to connect from. */
  source?: string;
  /** Whole connect (name lookup, resolution, handshake) bound. Default 10 s. */
  timeoutMs?: number;
  /** Default `'RC'`; the listener must be of the same type. */
  type?: CmType;
}

/**
 * Alias of {@link ConnectOptions} that says whose options they are
 * (`QueuePair.connect` and `@rdmajs/sdp` have a `ConnectOptions` of their own).
 */
export type CmConnectOptions = ConnectOptions;

/** Options of {@link listen}. Also exported as {@link CmListenOptions}. */
export interface ListenOptions {
  /** Local address; default `0.0.0.0` (every RDMA-capable interface). */
  host?: string;
  /** Port; 0 picks a free one (see {@link Listener.address}). */
  port: number;
  /** Pending connection requests queued by the kernel. Default 64. */
  backlog?: number;
  /** Default `'RC'`. */
  type?: CmType;
}

/** Alias of {@link ListenOptions} that says whose options they are. */
export type CmListenOptions = ListenOptions;

/** Options of {@link Listener.next}. */
export interface NextOptions {
  /** Reject with ETIMEDOUT when no request arrives in this many ms. Default: wait until {@link Listener.close}. */
  timeoutMs?: number;
}
