/**
 * `Server`: accepts SDP connections (as `net.Server`). Listens through
 * rdma_cm, refuses peers that speak another protocol version, and hands
 * out {@link SdpSocket}s through `'connection'`.
 * @module
 */
import { EventEmitter } from 'node:events';

import { cm } from '@rdmajs/verbs';

import { debuglog } from '@rdmajs/verbs/debug';
import { fromCmError } from './errors.js';
import { answer, readHello, refuse } from './handshake.js';
import { checkLinkOptions } from './link/options.js';
import { SdpSocket, attach } from './socket.js';
import type { AddressInfo, SocketOptions } from './socket-options.js';

const debug = debuglog('sdp');

/** Options of {@link createServer} (as `net.ServerOpts`); applied to every accepted socket. */
export interface ServerOptions extends SocketOptions {
  /** Set `noDelay` on accepted sockets. */
  noDelay?: boolean;
  /** Enable keepalive probes on accepted sockets. */
  keepAlive?: boolean;
  /** With `keepAlive`: ms between probes of an idle peer (at least 1000). */
  keepAliveInitialDelay?: number;
}

/** Options of {@link Server.listen} (as `net.ListenOptions`). */
export interface ListenOptions {
  /** Port to listen on; default 0 picks a free one (read it from {@link Server.address}). */
  port?: number;
  /** Default `'0.0.0.0'`: every RDMA-capable interface. */
  host?: string;
  /** Connection requests the kernel queues before refusing. Default 511, as `net`. */
  backlog?: number;
}

type ServerEvents = {
  listening: [];
  connection: [socket: SdpSocket];
  close: [];
  error: [err: Error];
};

/**
 * Accepts SDP connections, as `net.Server`: `'listening'`,
 * `'connection'(socket)`, `'close'`, `'error'` (e.g. `EADDRINUSE`). Create
 * one with {@link createServer}. Peers speaking another protocol version are
 * refused (they get `ECONNREFUSED`).
 */
export class Server extends EventEmitter<ServerEvents> {
  /** Refuse connections beyond this many (as `net.Server.maxConnections`). */
  maxConnections: number | undefined;
  #options: ServerOptions;
  #listener: cm.Listener | undefined;
  #starting = false;
  #sockets = new Set<SdpSocket>();
  #closing = false;
  #unrefed = false;

  /**
   * Same as {@link createServer}.
   * @throws TypeError / RangeError for a bad option.
   */
  constructor(options: ServerOptions = {}, onConnection?: (socket: SdpSocket) => void) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('createServer: options must be an object');
    checkLinkOptions('createServer', options);
    this.#options = options;
    if (onConnection !== undefined) {
      if (typeof onConnection !== 'function') throw new TypeError('createServer: connectionListener must be a function');
      this.on('connection', onConnection);
    }
  }

  /** True while listening. */
  get listening(): boolean {
    return this.#listener !== undefined;
  }

  /** The bound address (`port` is the real one after `listen(0)`), or null. */
  address(): AddressInfo | null {
    const a = this.#listener?.address();
    return a ? { address: a.address, family: a.family, port: a.port } : null;
  }

  /**
   * Starts listening (as `net.Server.listen`): `listen(port[, host][, backlog][, cb])`
   * or `listen({ port, host, backlog }[, cb])`. Emits `'listening'`, or
   * `'error'` (EADDRINUSE, ...).
   */
  listen(port?: number, host?: string, backlog?: number, cb?: () => void): this;
  listen(port?: number, host?: string, cb?: () => void): this;
  listen(port?: number, cb?: () => void): this;
  listen(options: ListenOptions, cb?: () => void): this;
  listen(...args: unknown[]): this {
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
    let o: ListenOptions;
    if (typeof args[0] === 'object' && args[0] !== null) o = args[0] as ListenOptions;
    else o = { port: args[0] as number | undefined, host: args[1] as string | undefined, backlog: args[2] as number | undefined };
    const port = o.port === undefined ? 0 : typeof o.port === 'string' ? Number(o.port) : o.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      const err = new RangeError(`listen: port must be an integer in [0, 65535]; got ${String(o.port)}`) as RangeError & { code: string };
      err.code = 'ERR_SOCKET_BAD_PORT';
      throw err;
    }
    if (this.#listener || this.#starting) {
      const err = new Error('Listen method has been called more than once without closing.') as Error & { code: string };
      err.code = 'ERR_SERVER_ALREADY_LISTEN';
      throw err;
    }
    if (cb) this.once('listening', cb);
    this.#starting = true;
    this.#closing = false;
    const host = o.host ?? '0.0.0.0';
    cm.listen({ host, port, backlog: o.backlog ?? 511 }).then(
      (listener) => {
        this.#starting = false;
        if (this.#closing) {
          listener.close();
          return;
        }
        this.#listener = listener;
        if (this.#unrefed) listener.unref();
        this.emit('listening');
        void this.#acceptLoop(listener);
      },
      (err: unknown) => {
        this.#starting = false;
        this.emit('error', fromCmError(err, 'listen', { address: host, port }));
      },
    );
    return this;
  }

  /**
   * Stops accepting; `'close'` follows once every accepted socket has
   * closed (as `net.Server.close`). The callback gets ERR_SERVER_NOT_RUNNING
   * when the server was not listening.
   */
  close(cb?: (err?: Error) => void): this {
    if (cb) {
      if (!this.#listener && !this.#starting) {
        const err = new Error('Server is not running.') as Error & { code: string };
        err.code = 'ERR_SERVER_NOT_RUNNING';
        process.nextTick(cb, err);
      } else this.once('close', () => cb());
    }
    if (this.#closing) return this;
    this.#closing = true;
    this.#listener?.close();
    this.#listener = undefined;
    this.#maybeClosed();
    return this;
  }

  /** Number of open connections (as `net.Server.getConnections`). */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    process.nextTick(cb, null, this.#sockets.size);
    return this;
  }

  /** Undo {@link unref}: the listening server keeps the process alive again (the default). */
  ref(): this {
    this.#unrefed = false;
    this.#listener?.ref();
    return this;
  }

  /** Let the process exit while the server is listening, as `net.Server.unref`. */
  unref(): this {
    this.#unrefed = true;
    this.#listener?.unref();
    return this;
  }

  /** Closes the server and waits for `'close'` (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.listening) return;
    await new Promise<void>((resolve) => this.close(() => resolve()));
  }

  async #acceptLoop(listener: cm.Listener): Promise<void> {
    for await (const req of listener) void this.#accept(req);
  }

  async #accept(req: cm.ConnectionRequest): Promise<void> {
    const peer = readHello(req);
    if (!peer) return;
    if (this.maxConnections !== undefined && this.#sockets.size >= this.maxConnections) {
      refuse(req, 'too many connections');
      return;
    }
    const o = this.#options;
    let socket: SdpSocket | undefined;
    try {
      await answer(req, peer, o, (hs) => {
        socket = new SdpSocket(o);
        attach(socket, hs);
      });
    } catch {
      // The peer gave up, timed out or the device failed: that peer's
      // connect fails; the server goes on (as net does for a reset peer).
      return;
    }
    const s = socket!;
    debug(`accepted ${s.remoteAddress}:${s.remotePort}: peer ring ${peer.ringSize} B`);
    if (o.noDelay) s.setNoDelay(true);
    if (o.keepAlive) s.setKeepAlive(true, o.keepAliveInitialDelay);
    this.#sockets.add(s);
    s.once('close', () => {
      this.#sockets.delete(s);
      this.#maybeClosed();
    });
    if (this.#closing) {
      s.destroy();
      return;
    }
    this.emit('connection', s);
  }

  #maybeClosed(): void {
    if (this.#closing && !this.#listener && !this.#starting && this.#sockets.size === 0) {
      this.#closing = false;
      process.nextTick(() => this.emit('close'));
    }
  }
}

/** Creates an SDP server (as `net.createServer`). */
export function createServer(onConnection?: (socket: SdpSocket) => void): Server;
export function createServer(options?: ServerOptions, onConnection?: (socket: SdpSocket) => void): Server;
export function createServer(a?: ServerOptions | ((socket: SdpSocket) => void), b?: (socket: SdpSocket) => void): Server {
  if (typeof a === 'function') return new Server({}, a);
  return new Server(a ?? {}, b);
}
