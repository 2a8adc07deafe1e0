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
 * @module
 */
import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

import { QP_STATE } from './constants.js';
import { RdmaError, rdmaError } from './errors.js';
import { native, type NativeCmEvent, type NativeCmEventChannel, type NativeCmId } from './native.js';
import type { ProtectionDomain } from './pd.js';
import type { QpOptions, QueuePair } from './qp.js';

/** An IP endpoint of a connection. */
export interface CmAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** The QP to create for a connection: {@link QpOptions} without `type` (always RC). */
export type CmQpOptions = Omit<QpOptions, 'type'>;

/** What both sides of a connection set up. */
export interface CmConnectionOptions {
  /** Protection domain for the QP; must be on the device the address resolves to. */
  pd: ProtectionDomain;
  qp: CmQpOptions;
  /** Sent to the peer (connect: up to 55 bytes; accept: up to 195). */
  privateData?: Uint8Array;
  /** Called with the QP in INIT, before the peer can send: post receives here. */
  prepare?: (qp: QueuePair) => void;
  /** Outstanding RDMA reads/atomics each side may have. Default 1... 16 by device. */
  rdmaDepth?: number;
}

/** Options of {@link connect}. */
export interface ConnectOptions extends CmConnectionOptions {
  host: string;
  port: number;
  /** Local address to connect from. */
  source?: string;
  /** Whole connect (resolution + handshake) bound. Default 10 s. */
  timeoutMs?: number;
}

/** Options of {@link listen}. */
export interface ListenOptions {
  /** Local address; default `0.0.0.0` (every RDMA-capable interface). */
  host?: string;
  /** Port; 0 picks a free one (see {@link Listener.address}). */
  port: number;
  /** Pending connection requests queued by the kernel. Default 64. */
  backlog?: number;
}

const CONNECT_PRIVATE_MAX = 56 - 1;
const ACCEPT_PRIVATE_MAX = 196 - 1;
const REJECT_PRIVATE_MAX = 148 - 1;
const ETIMEDOUT = 110;

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
      if (event.type === 'CONNECT_REQUEST' && event.listener) owners.get(event.listener)?.onEvent(event, id);
      else owners.get(id)?.onEvent(event, id);
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

function eventError(method: string, event: NativeCmEvent, host: string): RdmaError {
  switch (event.type) {
    case 'REJECTED': {
      const err = rdmaError(method, 'ECONNREFUSED', `${host}: connection refused (reject reason ${event.status})`);
      (err as RdmaError & { rejectData?: Buffer }).rejectData = unframe(event.privateData);
      return err;
    }
    case 'UNREACHABLE':
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

async function numericHost(method: string, host: string): Promise<string> {
  if (typeof host !== 'string' || host.length === 0) throw new TypeError(`${method}: host must be a non-empty string`);
  if (isIP(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw rdmaError(method, 'EHOSTUNREACH', `cannot resolve '${host}': ${(err as Error).message}`);
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
export class Connection extends EventEmitter<{ disconnected: [] }> {
  /** The connected QP, ready to post on. */
  readonly qp: QueuePair<'ready'>;
  /** What the peer sent with its connect/accept (exact bytes). */
  readonly remotePrivateData: Buffer;
  readonly localAddress: CmAddress | null;
  readonly remoteAddress: CmAddress | null;
  #id: NativeCmId;
  #disconnected = false;
  #closed = false;
  #initiated = false;
  #refed = true;
  #waitDisconnect: Array<() => void> = [];

  /** @internal */
  constructor(id: NativeCmId, qp: QueuePair<'ready'>, remotePrivateData: Buffer, sink: Waiter) {
    super();
    this.#id = id;
    this.qp = qp;
    this.remotePrivateData = remotePrivateData;
    this.localAddress = id.localAddress;
    this.remoteAddress = id.remoteAddress;
    ref(1);
    sink.onLater = (event) => {
      if (event.type === 'DISCONNECTED' || event.type === 'DEVICE_REMOVAL' || event.type === 'TIMEWAIT_EXIT') this.#onDisconnected();
    };
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
    const done = new Promise<void>((resolve) => {
      this.#waitDisconnect.push(resolve);
      setTimeout(resolve, timeoutMs).unref();
    });
    this.#initiated = true;
    try {
      this.#id.disconnect();
    } catch {
      this.#onDisconnected(); // already gone on the wire
    }
    await done;
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

async function setUpQp(method: string, id: NativeCmId, options: CmConnectionOptions): Promise<QueuePair> {
  const { pd } = options;
  if (typeof pd !== 'object' || pd === null || typeof pd.createQp !== 'function') {
    throw new TypeError(`${method}: pd must be a ProtectionDomain`);
  }
  if (id.device !== pd.context.name) {
    throw rdmaError(method, 'EINVAL', `the address is on device ${id.device}, the PD on ${pd.context.name}`);
  }
  const qp = pd.createQp({ ...options.qp, type: 'RC' });
  try {
    qp._modifyRaw(id.initQpAttr(QP_STATE.INIT));
    options.prepare?.(qp);
  } catch (err) {
    qp.close();
    throw err;
  }
  return qp;
}

function toRts(id: NativeCmId, qp: QueuePair): QueuePair<'ready'> {
  // INIT again first: before the CM exchange rdma_cm gives an initiator's
  // QP no remote access rights; now it knows them (as librdmacm does).
  qp._modifyRaw(id.initQpAttr(QP_STATE.INIT));
  qp._modifyRaw(id.initQpAttr(QP_STATE.RTR));
  qp._modifyRaw(id.initQpAttr(QP_STATE.RTS));
  return qp.ready();
}

function depth(options: CmConnectionOptions): number {
  const d = options.rdmaDepth ?? Math.min(options.pd.context.queryDevice().maxQpRdAtom, 16);
  if (!Number.isInteger(d) || d < 0 || d > 255) throw new RangeError('rdmaDepth must be an integer in [0, 255]');
  return d;
}

/** Connects to a listener at `host:port` and resolves with the connection. */
export async function connect(options: ConnectOptions): Promise<Connection> {
  const m = 'rdma_connect';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
  const port = checkPort(m, options.port, 1);
  const framed = frame(m, options.privateData, CONNECT_PRIVATE_MAX);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`${m}: timeoutMs must be a positive integer`);
  const deadline = Date.now() + timeoutMs;
  const host = await numericHost(m, options.host);
  const source = options.source === undefined ? null : await numericHost(m, options.source);
  const peer = `${host}:${port}`;

  const id = new native.CmId(getChannel(), native.constants.PORT_SPACE.TCP);
  const sink = new Waiter(m, peer);
  owners.set(id, sink);
  ref(1);
  let qp: QueuePair | undefined;
  try {
    id.resolveAddr(source, host, port, Math.max(1, deadline - Date.now()));
    await sink.wait(['ADDR_RESOLVED'], deadline);
    id.resolveRoute(Math.max(1, deadline - Date.now()));
    await sink.wait(['ROUTE_RESOLVED'], deadline);
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
export class ConnectionRequest {
  /** What the peer sent with its connect (exact bytes). */
  readonly remotePrivateData: Buffer;
  readonly remoteAddress: CmAddress | null;
  /** The RDMA device the request arrived on (create the PD there). */
  readonly device: string | null;
  #id: NativeCmId;
  #done = false;

  /** @internal */
  constructor(id: NativeCmId, privateData: Buffer) {
    this.#id = id;
    this.remotePrivateData = unframe(privateData);
    this.remoteAddress = id.remoteAddress;
    this.device = id.device;
  }

  /** Creates the QP, accepts, and resolves once the connection is established. */
  async accept(options: CmConnectionOptions & { timeoutMs?: number }): Promise<Connection> {
    const m = 'rdma_accept';
    if (this.#done) throw rdmaError(m, 'EINVAL', 'this request was already answered');
    if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
    const framed = frame(m, options.privateData, ACCEPT_PRIVATE_MAX);
    this.#done = true;
    const id = this.#id;
    const sink = new Waiter(m, `${this.remoteAddress?.address}:${this.remoteAddress?.port}`);
    owners.set(id, sink);
    ref(1);
    let qp: QueuePair | undefined;
    try {
      qp = await setUpQp(m, id, options);
      const ready = toRts(id, qp);
      const d = depth(options);
      id.accept({ privateData: framed, qpNum: qp.qpn, responderResources: d, initiatorDepth: d });
      await sink.wait(['ESTABLISHED'], Date.now() + (options.timeoutMs ?? 10_000));
      return new Connection(id, ready, this.remotePrivateData, sink);
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
    const framed = frame(m, privateData, REJECT_PRIVATE_MAX);
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
export class Listener implements AsyncIterable<ConnectionRequest>, EventSink {
  #id: NativeCmId;
  #queue: ConnectionRequest[] = [];
  #waiters: Array<(r: ConnectionRequest | undefined) => void> = [];
  #closed = false;
  #refed = true;

  /** @internal */
  constructor(id: NativeCmId) {
    this.#id = id;
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

  /** @internal */
  onEvent(event: NativeCmEvent, id: NativeCmId): void {
    if (event.type !== 'CONNECT_REQUEST') return;
    const req = new ConnectionRequest(id, event.privateData);
    const w = this.#waiters.shift();
    if (w) w(req);
    else this.#queue.push(req);
  }

  /** The next connection request, or undefined once closed. */
  next(): Promise<ConnectionRequest | undefined> {
    const queued = this.#queue.shift();
    if (queued || this.#closed) return Promise.resolve(queued);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ConnectionRequest> {
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
    this.#queue.splice(0).forEach((r) => r.reject());
    this.#waiters.splice(0).forEach((w) => w(undefined));
  }
}

/** Starts listening on `host:port`. Throws EADDRINUSE if the port is taken. */
export async function listen(options: ListenOptions): Promise<Listener> {
  const m = 'rdma_listen';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
  const port = checkPort(m, options.port, 0);
  const backlog = options.backlog ?? 64;
  if (!Number.isInteger(backlog) || backlog < 0) throw new RangeError(`${m}: backlog must be a non-negative integer`);
  const host = await numericHost(m, options.host ?? '0.0.0.0');
  const id = new native.CmId(getChannel(), native.constants.PORT_SPACE.TCP);
  try {
    id.bindAddr(host, port);
    id.listen(backlog);
  } catch (err) {
    id.close();
    throw err;
  }
  return new Listener(id);
}
