/**
 * `SdpSocket`: a `net.Socket`-compatible duplex byte stream over an RC
 * queue pair. Same events, same half-close and backpressure rules, same
 * error codes; the bytes move by RDMA WRITE into the peer's ring
 * (link/). Its options and connect()'s argument forms are in
 * socket-options.ts.
 *
 * Over 300 lines because the `net.Socket` surface is wide (addresses,
 * timers, keepalive, ref, the stream hooks), each member documented.
 * @module
 */
import { Duplex } from 'node:stream';

import { debuglog } from '@rdmajs/verbs/debug';
import { fromCmError, sdpError } from './errors.js';
import { dial, type Handshake } from './handshake.js';
import { Link, type LinkHooks } from './link/link.js';
import { checkLinkOptions } from './link/options.js';
import { normalizeConnectArgs, type AddressInfo, type ConnectOptions, type SocketOptions } from './socket-options.js';

const debug = debuglog('sdp');


interface PendingWrite {
  chunks: Buffer[];
  index: number;
  offset: number;
  /** Some bytes went zero-copy: the callback waits for their completion. */
  zeroCopy: boolean;
  cb: (err?: Error | null) => void;
}

const KEEPALIVE_MIN_MS = 1000;

// Wires a socket to the link of a completed handshake (client after
// connect, server after accept). Set by SdpSocket's static block: the
// socket's internals stay out of its public type.
let attachLink: (socket: SdpSocket, hs: Handshake) => void;

/**
 * A connected byte stream over RDMA with the `net.Socket` contract:
 * `'connect'`, `'data'`, `'end'`, `'close'(hadError)`, `'error'`,
 * `'timeout'`, backpressure (`write()` false, then `'drain'`), half-close
 * with `allowHalfOpen`. Create one with {@link connect}, or get it from a
 * {@link Server}'s `'connection'` event. The stream methods (`write`, `end`,
 * `pipe`, `destroy`...) are Node's `stream.Duplex`.
 *
 * Errors are `net`-shaped ({@link SdpError}): `ECONNREFUSED`, `ETIMEDOUT`,
 * `EHOSTUNREACH`, `ECONNRESET`, `EPROTO` when the peer breaks the protocol.
 */
export class SdpSocket extends Duplex {
  /** True while the connection is being set up (as `net.Socket.connecting`). */
  connecting = false;
  /** The idle timeout set by {@link setTimeout}, or undefined. */
  timeout: number | undefined;
  #link: Link | undefined;
  #local: AddressInfo | undefined;
  #remote: AddressInfo | undefined;
  #pending: PendingWrite | undefined;
  #finalCb: ((err?: Error | null) => void) | undefined;
  #noDelay = false;
  #read = 0;
  #written = 0;
  #timer: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #unrefed = false;
  #reset = false;
  #peerEnded = false; // the peer ended and we ended for it (no allowHalfOpen): writes fail with EPIPE

  /**
   * An unconnected socket; {@link SdpSocket.connect} connects it.
   * @throws TypeError / RangeError for a bad option, naming it.
   */
  constructor(options: SocketOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('SdpSocket: options must be an object');
    checkLinkOptions('SdpSocket', options);
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
      decodeStrings: true,
      emitClose: false, // 'close' carries hadError, emitted by _destroy
      signal: options.signal,
    });
  }

  // ---- net.Socket surface ---------------------------------------------

  /** Bytes received. */
  get bytesRead(): number {
    return this.#read;
  }

  /** Bytes sent plus bytes still buffered for sending (as in `net`). */
  get bytesWritten(): number {
    return this.#written + this.writableLength;
  }

  /**
   * Of {@link bytesWritten}, the bytes sent straight from the caller's
   * buffers (zero-copy, see `zeroCopyThreshold`) rather than copied.
   */
  get zeroCopyBytes(): number {
    return this.#link?.zeroCopyBytes ?? 0;
  }

  /** True until connected (as `net.Socket.pending`). */
  get pending(): boolean {
    return this.#link === undefined;
  }

  /** Which directions are open, as `net.Socket.readyState`. */
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The peer's IP address; undefined before connecting. */
  get remoteAddress(): string | undefined {
    return this.#remote?.address;
  }
  /** The peer's port; undefined before connecting. */
  get remotePort(): number | undefined {
    return this.#remote?.port;
  }
  /** `'IPv4'` or `'IPv6'`; undefined before connecting. */
  get remoteFamily(): string | undefined {
    return this.#remote?.family;
  }
  /** This side's IP address (on the RDMA device's interface); undefined before connecting. */
  get localAddress(): string | undefined {
    return this.#local?.address;
  }
  /** This side's rdma_cm port; undefined before connecting. */
  get localPort(): number | undefined {
    return this.#local?.port;
  }

  /** The local end, as `net.Socket.address()` (`{}` before connecting). */
  address(): AddressInfo | Record<string, never> {
    return this.#local ? { ...this.#local } : {};
  }

  /**
   * Writes go out at once. Without it, writes of the same tick are sent
   * together, and bulk writes (16 KiB and more unsent) wait one turn of the
   * event loop for the writes that follow them (never longer: there is no
   * Nagle timer).
   */
  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    return this;
  }

  /**
   * Probes an idle peer every `initialDelay` ms (at least 1 s); a peer that
   * stopped answering ends the socket with ETIMEDOUT.
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    if (enable && !this.destroyed) {
      this.#keepAlive = setInterval(() => this.#link?.keepalive(), Math.max(KEEPALIVE_MIN_MS, initialDelay));
      this.#keepAlive.unref();
    }
    return this;
  }

  /**
   * Emits `'timeout'` after `ms` without activity (0 disables), as
   * `net.Socket.setTimeout`; the socket stays open.
   * @throws RangeError for a negative or non-finite `ms`.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new RangeError(`setTimeout: ms must be a non-negative number; got ${ms}`);
    if (callback !== undefined && typeof callback !== 'function') throw new TypeError('setTimeout: callback must be a function');
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (ms === 0) {
      this.timeout = undefined;
      if (callback) this.removeListener('timeout', callback);
    } else {
      this.timeout = ms;
      this.#timer = setTimeout(() => this.emit('timeout'), ms);
      this.#timer.unref();
      if (callback) this.once('timeout', callback);
    }
    return this;
  }

  /**
   * Closes the connection with a reset: the peer gets ECONNRESET instead
   * of an orderly end (as `net.Socket.resetAndDestroy`).
   */
  resetAndDestroy(): this {
    this.#reset = true;
    return this.destroy();
  }

  /** Let the process exit while this socket is open. */
  unref(): this {
    this.#unrefed = true;
    this.#link?.unref();
    return this;
  }

  /** Undo {@link unref}. */
  ref(): this {
    this.#unrefed = false;
    this.#link?.ref();
    return this;
  }

  /**
   * Connects this socket (as `net.Socket.connect`); usually called through
   * {@link connect}. Emits `'connect'` and `'ready'`, or `'error'`.
   * @throws {@link SdpError} `EISCONN` when already connected or connecting;
   * RangeError (`ERR_SOCKET_BAD_PORT`) for a bad port.
   */
  connect(options: ConnectOptions, listener?: () => void): this;
  connect(port: number, host?: string, listener?: () => void): this;
  connect(port: number, listener?: () => void): this;
  connect(a: ConnectOptions | number, b?: string | (() => void), c?: () => void): this {
    const options = normalizeConnectArgs(a, b, c);
    if (this.connecting || this.#link) throw sdpError('EISCONN', 'connect', 'socket is already connected or connecting');
    if (options.listener) this.once('connect', options.listener);
    const o = options.options;
    if (o.timeout !== undefined) this.setTimeout(o.timeout);
    if (o.noDelay) this.setNoDelay(true);
    if (o.keepAlive) this.setKeepAlive(true, o.keepAliveInitialDelay);
    this.connecting = true;
    void this.#connect(o);
    return this;
  }

  /**
   * As `net.Socket.write`; once the peer ended its side and ours was ended
   * for it (no `allowHalfOpen`), a write fails with `EPIPE` as net's does,
   * not with the stream's ERR_STREAM_WRITE_AFTER_END.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean {
    if (!this.#peerEnded || !this.writableEnded) return super.write(chunk, encoding as BufferEncoding, cb);
    const done = typeof encoding === 'function' ? encoding : cb;
    const err = sdpError('EPIPE', 'write', 'This socket has been ended by the other party');
    if (done) process.nextTick(done, err);
    this.destroy(err);
    return false;
  }

  // ---- stream implementation -----------------------------------------

  /** @hidden Node's stream implementation hook. */
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#pending = { chunks: [chunk], index: 0, offset: 0, zeroCopy: false, cb };
    this.#pump();
  }

  /** @hidden Node's stream implementation hook. */
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.#pending = { chunks: chunks.map((c) => c.chunk), index: 0, offset: 0, zeroCopy: false, cb };
    this.#pump();
  }

  /** @hidden Node's stream implementation hook. */
  override _final(cb: (err?: Error | null) => void): void {
    if (!this.#link) {
      this.#finalCb = cb; // after connecting
      return;
    }
    this.#link.finish((err) => cb(err));
  }

  /** @hidden Node's stream implementation hook. */
  override _read(): void {
    this.#link?.resume();
  }

  /** @hidden Node's stream implementation hook. */
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#timer = this.#keepAlive = undefined;
    this.connecting = false;
    const link = this.#link;
    const done = () => {
      cb(err);
      // After 'error' and a turn of the loop, as net's handle close does.
      setImmediate(() => this.emit('close', err !== null && err !== undefined));
    };
    if (!link) {
      this.#connectAbort?.();
      return done();
    }
    // As TCP: data we will never read resets the peer, else it gets a FIN.
    const abort = this.#reset || link.unread > 0 || this.readableLength > 0;
    if (debug.enabled) debug(`closing ${this.remoteAddress}:${this.remotePort} with ${abort ? 'a reset' : 'a FIN'}${err ? ` (${err.message})` : ''}`);
    link.close(abort).then(done, done);
  }

  // ---- internals ------------------------------------------------------

  #connectAbort: (() => void) | undefined;

  static {
    attachLink = (socket, hs) => socket.#attach(hs);
  }

  #attach(hs: Handshake): void {
    const link = new Link(hs.transport, hs.peer, this.#hooks());
    this.#link = link;
    this.#local = hs.local;
    this.#remote = hs.remote;
    this.connecting = false;
    if (this.#unrefed) link.unref();
    link.start();
    if (this.#pending) this.#pump();
    if (this.#finalCb) {
      const cb = this.#finalCb;
      this.#finalCb = undefined;
      link.finish((err) => cb(err));
    }
  }

  // The callbacks the link reports through.
  #hooks(): LinkHooks {
    return {
      data: (chunk: Buffer) => {
        this.#read += chunk.length;
        this.#timer?.refresh();
        return this.push(chunk);
      },
      eof: () => {
        this.#peerEnded = !this.allowHalfOpen;
        this.push(null);
        this.read(0); // 'end' even if nobody reads (as net does at EOF)
      },
      writable: () => {
        if (this.#pending) this.#pump();
      },
      fail: (err: Error) => {
        this.destroy(err);
      },
      peerClosed: () => {
        if (this.#pending) this.destroy(sdpError('ECONNRESET', 'write', 'the peer closed the connection before taking our data'));
      },
    };
  }

  async #connect(o: ConnectOptions): Promise<void> {
    const host = o.host ?? 'localhost';
    const where = { address: host, port: o.port };
    let aborted = false;
    this.#connectAbort = () => {
      aborted = true;
    };
    try {
      const done = await dial({ ...o, host }, () => aborted, (hs) => attachLink(this, hs));
      if (!done) return;
      debug(`connected to ${host}:${o.port}`);
      this.emit('connect');
      this.emit('ready');
    } catch (err) {
      if (aborted) return;
      debug(`connect to ${host}:${o.port} failed: ${(err as Error).message}`);
      this.connecting = false;
      this.destroy(fromCmError(err, 'connect', where));
    } finally {
      this.#connectAbort = undefined;
    }
  }

  // Moves pending write chunks into the peer's ring as credit allows.
  #pump(): void {
    const p = this.#pending;
    const link = this.#link;
    if (!p || !link) return;
    if (!link.sendable) {
      this.#pending = undefined;
      p.cb(sdpError('ECONNRESET', 'write', 'the peer closed the connection'));
      return;
    }
    while (p.index < p.chunks.length) {
      const chunk = p.chunks[p.index]!;
      const zeroCopied = link.zeroCopyBytes;
      const n = link.write(chunk, p.offset);
      if (link.zeroCopyBytes !== zeroCopied) p.zeroCopy = true;
      this.#written += n;
      p.offset += n;
      // Out of credit: the link sent what it took and told the peer; its
      // writable hook brings us back.
      if (p.offset < chunk.length) return;
      p.index++;
      p.offset = 0;
    }
    this.#pending = undefined;
    this.#timer?.refresh();
    link.flushSoon(this.#noDelay);
    // Like net's write callback, ours means the bytes no longer depend on
    // the caller's buffer: at once for copied bytes, after the completion
    // for zero-copy ones.
    if (p.zeroCopy) link.whenSent((err) => p.cb(err));
    else p.cb();
  }
}

/** Wires `socket` to the link of a completed handshake (server.ts, after accept). */
export function attach(socket: SdpSocket, hs: Handshake): void {
  attachLink(socket, hs);
}


/**
 * Opens an SDP connection to `host:port` (as `net.connect`). The socket
 * emits `'connect'` when the handshake completes; failures arrive as
 * `'error'` ({@link SdpError}), bad arguments throw at once.
 */
export function connect(options: ConnectOptions, listener?: () => void): SdpSocket;
export function connect(port: number, host?: string, listener?: () => void): SdpSocket;
export function connect(port: number, listener?: () => void): SdpSocket;
export function connect(a: ConnectOptions | number, b?: string | (() => void), c?: () => void): SdpSocket {
  const { options, listener } = normalizeConnectArgs(a, b, c);
  return new SdpSocket(options).connect(options, listener);
}

/** Same as {@link connect} (as `net.createConnection`). */
export const createConnection = connect;
