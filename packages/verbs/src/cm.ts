/**
 * Connection management over rdma_cm (librdmacm), event-driven on the
 * libuv loop: listen for and accept RC connections by IP address and port,
 * like TCP, instead of exchanging endpoints yourself.
 *
 * ```ts
 * import { cm } from '@rdmajs/verbs';
 * const listener = await cm.listen({ host: '10.9.0.1', port: 7471 });
 * for await (const req of listener) {
 *   const conn = await req.accept({ pd, qp: { sendCq: cq } });
 * }
 * // elsewhere
 * const conn = await cm.connect({ host: '10.9.0.1', port: 7471, pd, qp: { sendCq: cq } });
 * conn.qp.postSend(...);
 * ```
 *
 * The QP is yours (created in your PD, on the device the address resolves
 * to); rdma_cm supplies its attributes at each state transition. Private
 * data travels framed with a one-byte length, so the peer gets exactly the
 * bytes sent (IB CM pads messages to a fixed size).
 *
 * With `type: 'UD'` both sides use rdma_cm's UDP port space: the connect is
 * a service ID resolution (SIDR) request and yields a {@link UdConnection}
 * with an address handle, QP number and qkey of the listener's UD QP.
 * @module
 */
import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

import { QP_STATE } from './constants.js';
import { debuglog } from './debug.js';
import { RdmaError, rdmaError } from './errors.js';
import { native, type NativeCmEvent, type NativeCmEventChannel, type NativeCmId } from './native.js';
import type { AddressHandle } from './ah.js';
import type { ProtectionDomain } from './pd.js';
import { modifyRaw, type QueuePair } from './qp.js';
import type { WorkCompletion } from './types/completion.js';
import type { QpOptions } from './types/qp-options.js';
import type { AhAttributes } from './types/qp.js';
import type { UdTarget } from './types/work-requests.js';

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

/** What accepting a request of type `T` gives: {@link Connection} or {@link UdConnection}. */
export type CmConnection<T extends CmType> = T extends 'UD' ? UdConnection : Connection;

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

/** Options of {@link connect}. */
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

/** Options of {@link listen}. */
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

/** Options of {@link Listener.next}. */
export interface NextOptions {
  /** Reject with ETIMEDOUT when no request arrives in this many ms. Default: wait until {@link Listener.close}. */
  timeoutMs?: number;
}

// Private data caps less the one-byte frame (IB CM REQ/REP/REJ for RC, SIDR
// REQ/REP for UD; rdma_cm's header takes 36 bytes of REQ and SIDR REQ).
const PRIVATE_MAX: Record<CmType, { connect: number; accept: number; reject: number }> = {
  RC: { connect: 56 - 1, accept: 196 - 1, reject: 148 - 1 },
  UD: { connect: 180 - 1, accept: 136 - 1, reject: 136 - 1 },
};
const ETIMEDOUT = 110;
// SIDR reply statuses (enum ib_cm_sidr_status) reported in UNREACHABLE events.
const SIDR_UNSUPPORTED = 1;
const SIDR_REJECT = 2;

const debug = debuglog('cm');

// One event channel per process; ids route events to their owners.
let channel: NativeCmEventChannel | undefined;
const owners = new WeakMap<NativeCmId, EventSink>();
let refs = 0;

interface EventSink {
  onEvent(event: NativeCmEvent, id: NativeCmId): void;
}

function getChannel(): NativeCmEventChannel {
  if (!channel || channel.closed) {
    channel = new native.CmEventChannel();
    channel.setHandler((id, event) => {
      if (debug.enabled) debug(`${event.type}${event.status ? ` (status ${event.status})` : ''}${owners.has(id) || event.type === 'CONNECT_REQUEST' ? '' : ' for an id nobody owns'}`);
      if (event.type !== 'CONNECT_REQUEST') {
        owners.get(id)?.onEvent(event, id);
        return;
      }
      const listener = event.listener && owners.get(event.listener);
      if (listener) {
        listener.onEvent(event, id);
        return;
      }
      // Its listener is closing: refuse now rather than let the peer wait.
      try {
        id.reject();
      } catch {
        /* the peer is gone already */
      }
      id.close();
    });
  }
  return channel;
}

// Listeners, pending operations and open connections keep the process
// alive, like net servers and sockets do.
function ref(delta: number): void {
  refs += delta;
  channel?.setRef(refs > 0);
}

function frame(method: string, data: Uint8Array | undefined, max: number): Buffer | undefined {
  if (data === undefined) return undefined;
  if (!(data instanceof Uint8Array)) throw new TypeError(`${method}: privateData must be a Buffer or Uint8Array`);
  if (data.length > max) throw new RangeError(`${method}: privateData is ${data.length} bytes; at most ${max}`);
  const out = Buffer.alloc(data.length + 1);
  out[0] = data.length;
  out.set(data, 1);
  return out;
}

function unframe(raw: Buffer): Buffer {
  if (raw.length === 0) return Buffer.alloc(0);
  return Buffer.from(raw.subarray(1, 1 + Math.min(raw[0]!, raw.length - 1)));
}

function refused(method: string, detail: string, data: Buffer): RdmaError {
  const err = rdmaError(method, 'ECONNREFUSED', detail);
  (err as RdmaError & { rejectData?: Buffer }).rejectData = unframe(data);
  return err;
}

function eventError(method: string, event: NativeCmEvent, host: string): RdmaError {
  switch (event.type) {
    case 'REJECTED':
      return refused(method, `${host}: connection refused (reject reason ${event.status})`, event.privateData);
    case 'UNREACHABLE':
      // UD: a SIDR reply with a failure status (rejected, or nobody listens).
      if (event.status === SIDR_REJECT) return refused(method, `${host}: connection refused (SIDR reject)`, event.privateData);
      if (event.status === SIDR_UNSUPPORTED) return refused(method, `${host}: connection refused (no UD listener)`, Buffer.alloc(0));
      return event.status === -ETIMEDOUT
        ? rdmaError(method, 'ETIMEDOUT', `${host}: no answer`)
        : rdmaError(method, 'EHOSTUNREACH', `${host}: unreachable (status ${event.status})`);
    case 'ADDR_ERROR':
    case 'ROUTE_ERROR':
      return event.status === -ETIMEDOUT
        ? rdmaError(method, 'ETIMEDOUT', `${host}: ${event.type === 'ADDR_ERROR' ? 'address' : 'route'} resolution timed out`)
        : rdmaError(method, 'EHOSTUNREACH', `${host}: ${event.type.toLowerCase().replace('_', ' ')} (status ${event.status})`);
    default:
      return rdmaError(method, 'ECONNRESET', `${host}: ${event.type} (status ${event.status})`);
  }
}

/** Waits for one of `expected` on an id; other event types reject. */
class Waiter implements EventSink {
  #pending: { expected: string[]; resolve(e: NativeCmEvent): void; reject(err: unknown): void } | undefined;
  /** Events after the connection is up go here. */
  onLater: ((event: NativeCmEvent) => void) | undefined;

  constructor(
    readonly method: string,
    readonly peer: string,
  ) {}

  wait(expected: string[], deadline: number): Promise<NativeCmEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        reject(rdmaError(this.method, 'ETIMEDOUT', `${this.peer}: no ${expected.join('/')} in time`));
      }, Math.max(0, deadline - Date.now()));
      this.#pending = {
        expected,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  onEvent(event: NativeCmEvent): void {
    const p = this.#pending;
    if (p) {
      this.#pending = undefined;
      if (p.expected.includes(event.type)) p.resolve(event);
      else p.reject(eventError(this.method, event, this.peer));
      return;
    }
    this.onLater?.(event);
  }
}

async function numericHost(method: string, host: string, deadline = Infinity): Promise<string> {
  if (typeof host !== 'string' || host.length === 0) throw new TypeError(`${method}: host must be a non-empty string`);
  if (isIP(host)) return host;
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = lookup(host);
    if (deadline === Infinity) return (await found).address;
    // getaddrinfo has its own (resolver) timeouts; the caller's bound is tighter.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(rdmaError(method, 'ETIMEDOUT', `looking up '${host}' took too long`)), Math.max(0, deadline - Date.now()));
    });
    return (await Promise.race([found, late])).address;
  } catch (err) {
    if (err instanceof RdmaError) throw err;
    throw rdmaError(method, 'EHOSTUNREACH', `cannot resolve '${host}': ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

function checkPort(method: string, port: unknown, min: number): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < min || port > 65535) {
    throw new RangeError(`${method}: port must be an integer in [${min}, 65535]`);
  }
  return port;
}

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
  constructor(id: NativeCmId, qp: QueuePair<'ready'>, remotePrivateData: Buffer, sink: Waiter, established = true) {
    super();
    this.#id = id;
    this.qp = qp;
    this.remotePrivateData = remotePrivateData;
    this.localAddress = id.localAddress;
    this.remoteAddress = id.remoteAddress;
    ref(1);
    this.#established = established;
    sink.onLater = (event) => {
      // After an early accept the handshake may still fail (the peer gave up).
      if (event.type === 'ESTABLISHED') {
        if (!this.#established) {
          this.#established = true;
          this.emit('established');
        }
        return;
      }
      if (
        event.type === 'DISCONNECTED' ||
        event.type === 'DEVICE_REMOVAL' ||
        event.type === 'TIMEWAIT_EXIT' ||
        event.type === 'CONNECT_ERROR' ||
        event.type === 'UNREACHABLE' ||
        event.type === 'REJECTED'
      ) {
        this.#onDisconnected();
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
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) throw new RangeError('Connection.disconnect: timeoutMs must be a non-negative integer');
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
    if (this.#closed) throw rdmaError('UdConnection.replyTo', 'EBADF', 'the connection is closed');
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

function checkPd(method: string, id: NativeCmId, pd: ProtectionDomain): void {
  if (typeof pd !== 'object' || pd === null || typeof pd.createQp !== 'function') {
    throw new TypeError(`${method}: pd must be a ProtectionDomain`);
  }
  if (id.device !== pd.context.name) {
    throw rdmaError(method, 'EINVAL', `the address is on device ${id.device}, the PD on ${pd.context.name}`);
  }
}

async function setUpQp(method: string, id: NativeCmId, options: CmConnectionOptions): Promise<QueuePair> {
  const { pd } = options;
  checkPd(method, id, pd);
  const qp = pd.createQp({ ...options.qp, type: 'RC' });
  try {
    modifyRaw(qp, id.initQpAttr(QP_STATE.INIT));
    options.prepare?.(qp);
  } catch (err) {
    qp.close();
    throw err;
  }
  return qp;
}

/**
 * A UD QP for an rdma_cm id, all the way to RTS. rdma_init_qp_attr gives a
 * UD QP only its INIT attributes (port, pkey index, and the qkey rdma_cm
 * assigns: 0x01234567 in the UDP port space over IP); RTR and RTS need no
 * more than the state and a send PSN, as in librdmacm's own ucma_init_ud_qp.
 */
function setUpUdQp(method: string, id: NativeCmId, options: CmConnectionOptions): { qp: QueuePair<'ready'>; qkey: number } {
  const { pd } = options;
  checkPd(method, id, pd);
  const qp = pd.createQp({ ...options.qp, type: 'UD' });
  try {
    const init = id.initQpAttr(QP_STATE.INIT);
    modifyRaw(qp, init);
    options.prepare?.(qp);
    modifyRaw(qp, { qpState: QP_STATE.RTR });
    modifyRaw(qp, { qpState: QP_STATE.RTS, sqPsn: 0 });
    return { qp: qp.ready(), qkey: init.qkey as number };
  } catch (err) {
    qp.close();
    throw err;
  }
}

function toRts(id: NativeCmId, qp: QueuePair): QueuePair<'ready'> {
  // INIT again first: before the CM exchange rdma_cm gives an initiator's
  // QP no remote access rights; now it knows them (as librdmacm does).
  modifyRaw(qp, id.initQpAttr(QP_STATE.INIT));
  modifyRaw(qp, id.initQpAttr(QP_STATE.RTR));
  modifyRaw(qp, id.initQpAttr(QP_STATE.RTS));
  return qp.ready();
}

function depth(options: CmConnectionOptions): number {
  const d = options.rdmaDepth ?? Math.min(options.pd.context.queryDevice().maxQpRdAtom, 16);
  if (!Number.isInteger(d) || d < 0 || d > 255) throw new RangeError('rdmaDepth must be an integer in [0, 255]');
  return d;
}

function checkType(method: string, type: unknown): CmType {
  if (type === undefined) return 'RC';
  if (type !== 'RC' && type !== 'UD') throw new RangeError(`${method}: type must be 'RC' or 'UD', got ${String(type)}`);
  return type;
}

function portSpace(type: CmType): number {
  return type === 'UD' ? native.constants.PORT_SPACE.UDP : native.constants.PORT_SPACE.TCP;
}

/**
 * Connects to a listener at `host:port` and resolves with the connection:
 * a {@link Connection} (RC), or with `type: 'UD'` a {@link UdConnection}.
 * @throws TypeError / RangeError for bad options, at once.
 * Rejects with an {@link RdmaError}: `ECONNREFUSED` (no listener, or
 * rejected), `ETIMEDOUT` after `timeoutMs`, `EHOSTUNREACH` when the address
 * has no RDMA route.
 */
export function connect(options: ConnectOptions & { type: 'UD' }): Promise<UdConnection>;
export function connect(options: ConnectOptions & { type?: 'RC' }): Promise<Connection>;
export function connect(options: ConnectOptions): Promise<Connection | UdConnection>;
export async function connect(options: ConnectOptions): Promise<Connection | UdConnection> {
  const m = 'rdma_connect';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
  const type = checkType(m, options.type);
  const port = checkPort(m, options.port, 1);
  const framed = frame(m, options.privateData, PRIVATE_MAX[type].connect);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`${m}: timeoutMs must be a positive integer`);
  const deadline = Date.now() + timeoutMs;
  const host = await numericHost(m, options.host, deadline);
  const source = options.source === undefined ? null : await numericHost(m, options.source, deadline);
  const peer = `${host}:${port}`;

  const id = new native.CmId(getChannel(), portSpace(type));
  const sink = new Waiter(m, peer);
  owners.set(id, sink);
  ref(1);
  let qp: QueuePair | undefined;
  try {
    id.resolveAddr(source, host, port, Math.max(1, deadline - Date.now()));
    await sink.wait(['ADDR_RESOLVED'], deadline);
    id.resolveRoute(Math.max(1, deadline - Date.now()));
    await sink.wait(['ROUTE_RESOLVED'], deadline);
    if (type === 'UD') {
      const ud = setUpUdQp(m, id, options);
      qp = ud.qp;
      id.connect({ privateData: framed, qpNum: qp.qpn });
      const reply = await sink.wait(['ESTABLISHED'], deadline);
      if (!reply.ud) throw rdmaError(m, 'EINVAL', `${peer}: the UD reply carried no address`);
      const ah = options.pd.createAh(reply.ud.ahAttr as AhAttributes);
      return new UdConnection(id, ud.qp, ud.qkey, unframe(reply.privateData), { ah, qpn: reply.ud.qpNum, qkey: reply.ud.qkey });
    }
    qp = await setUpQp(m, id, options);
    const d = depth(options);
    id.connect({ privateData: framed, qpNum: qp.qpn, responderResources: d, initiatorDepth: d });
    const reply = await sink.wait(['CONNECT_RESPONSE', 'ESTABLISHED'], deadline);
    const ready = toRts(id, qp);
    if (reply.type === 'CONNECT_RESPONSE') id.establish();
    return new Connection(id, ready, unframe(reply.privateData), sink);
  } catch (err) {
    qp?.close();
    owners.delete(id);
    id.close();
    throw err;
  } finally {
    ref(-1);
  }
}

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
    if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
    const framed = frame(m, options.privateData, PRIVATE_MAX[this.type].accept);
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`${m}: timeoutMs must be a positive integer`);
    this.#done = true;
    const id = this.#id;
    const sink = new Waiter(m, `${this.remoteAddress?.address}:${this.remoteAddress?.port}`);
    owners.set(id, sink);
    ref(1);
    let qp: QueuePair | undefined;
    try {
      if (this.type === 'UD') {
        const ud = setUpUdQp(m, id, options);
        qp = ud.qp;
        id.accept({ privateData: framed, qpNum: qp.qpn });
        return new UdConnection(id, ud.qp, ud.qkey, this.remotePrivateData) as CmConnection<T>;
      }
      qp = await setUpQp(m, id, options);
      const ready = toRts(id, qp);
      const d = depth(options);
      id.accept({ privateData: framed, qpNum: qp.qpn, responderResources: d, initiatorDepth: d });
      if (options.early !== true) await sink.wait(['ESTABLISHED'], Date.now() + timeoutMs);
      return new Connection(id, ready, this.remotePrivateData, sink, options.early !== true) as CmConnection<T>;
    } catch (err) {
      qp?.close();
      owners.delete(id);
      id.close();
      throw err;
    } finally {
      ref(-1);
    }
  }

  /** Refuses the connection; the peer's connect fails with ECONNREFUSED carrying `privateData`. */
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

/**
 * Listens for connections. Iterate it (`for await (const req of listener)`)
 * or call {@link Listener.next}; {@link Listener.close} ends the iteration.
 */
export class Listener<T extends CmType = 'RC'> implements AsyncIterable<ConnectionRequest<T>>, EventSink {
  /** What its requests' accept makes. */
  readonly type: T;
  #id: NativeCmId;
  #queue: Array<ConnectionRequest<T>> = [];
  #waiters: Array<(r: ConnectionRequest<T> | undefined) => void> = [];
  #closed = false;
  #refed = true;

  /** @internal */
  constructor(id: NativeCmId, type: T) {
    this.#id = id;
    this.type = type;
    owners.set(id, this);
    ref(1);
  }

  /** While listening, keep the process alive (the default). */
  ref(): this {
    if (!this.#refed && !this.#closed) ref(1);
    this.#refed = true;
    return this;
  }

  /** Do not keep the process alive just for this listener. */
  unref(): this {
    if (this.#refed && !this.#closed) ref(-1);
    this.#refed = false;
    return this;
  }

  /** The bound address (with the actual port when listening on port 0). */
  address(): CmAddress | null {
    return this.#id.localAddress;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal */
  onEvent(event: NativeCmEvent, id: NativeCmId): void {
    if (event.type !== 'CONNECT_REQUEST') return;
    const req = new ConnectionRequest(id, event.privateData, this.type);
    const w = this.#waiters.shift();
    if (w) w(req);
    else this.#queue.push(req);
  }

  /**
   * The next connection request, or undefined once closed. With
   * `timeoutMs`, rejects with ETIMEDOUT when none arrives in time (the
   * listener stays open).
   */
  next(options: NextOptions = {}): Promise<ConnectionRequest<T> | undefined> {
    const m = 'Listener.next';
    if (typeof options !== 'object' || options === null) return Promise.reject(new TypeError(`${m}: options must be an object`));
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 0)) {
      return Promise.reject(new RangeError(`${m}: timeoutMs must be a non-negative integer`));
    }
    const queued = this.#queue.shift();
    if (queued || this.#closed) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (r: ConnectionRequest<T> | undefined) => {
        clearTimeout(timer);
        resolve(r);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(rdmaError(m, 'ETIMEDOUT', `no connection request within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  /** Yields each connection request as it arrives; ends after {@link close}. */
  async *[Symbol.asyncIterator](): AsyncIterator<ConnectionRequest<T>> {
    for (;;) {
      const req = await this.next();
      if (!req) return;
      yield req;
    }
  }

  /** Stops listening; queued requests are rejected and iteration ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#refed) ref(-1);
    owners.delete(this.#id);
    this.#id.close();
    for (const r of this.#queue.splice(0)) {
      try {
        r.reject();
      } catch {
        /* the peer is gone already */
      }
    }
    this.#waiters.splice(0).forEach((w) => w(undefined));
  }
}

/**
 * Starts listening on `host:port` (RC by default; `type: 'UD'` for UD).
 * Rejects with an {@link RdmaError} from `rdma_bind_addr`: `EADDRINUSE` if
 * the port is taken, another code when `host` is not an address of an RDMA device.
 */
export function listen(options: ListenOptions & { type: 'UD' }): Promise<Listener<'UD'>>;
export function listen(options: ListenOptions & { type?: 'RC' }): Promise<Listener<'RC'>>;
export function listen(options: ListenOptions): Promise<Listener<'RC'> | Listener<'UD'>>;
export async function listen(options: ListenOptions): Promise<Listener<'RC'> | Listener<'UD'>> {
  const m = 'rdma_listen';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
  const type = checkType(m, options.type);
  const port = checkPort(m, options.port, 0);
  const backlog = options.backlog ?? 64;
  if (!Number.isInteger(backlog) || backlog < 0) throw new RangeError(`${m}: backlog must be a non-negative integer`);
  const host = await numericHost(m, options.host ?? '0.0.0.0');
  const id = new native.CmId(getChannel(), portSpace(type));
  try {
    id.bindAddr(host, port);
    id.listen(backlog);
  } catch (err) {
    id.close();
    throw err;
  }
  return type === 'UD' ? new Listener(id, 'UD') : new Listener(id, 'RC');
}
