/**
 * The options of {@link SdpSocket} and {@link connect}, the address type
 * of a socket end, and the parsing of `connect()`'s `net`-style argument
 * forms.
 * @module
 */
import type { LinkOptions } from './link/options.js';
// For {@link} in the comments only.
import type { SdpSocket, connect } from './socket.js';

/** Options of {@link SdpSocket} itself (as `net.SocketConstructorOpts`). */
export interface SocketOptions extends LinkOptions {
  /** Keep the writable side open after the peer ends (default false, as in `net`). */
  allowHalfOpen?: boolean;
  /** Bytes buffered for reading before the socket stops taking data from its ring (stream default 16 KiB). */
  readableHighWaterMark?: number;
  /** Bytes buffered for writing before `write()` returns false (stream default 16 KiB). */
  writableHighWaterMark?: number;
  /** Abort the socket (`destroy(signal.reason)`) when this signal aborts. */
  signal?: AbortSignal;
}

/** Options of {@link connect} (as `net.TcpNetConnectOpts`). */
export interface ConnectOptions extends SocketOptions {
  /** The server's port, 1-65535 (rdma_cm's TCP port space, separate from TCP's ports). */
  port: number;
  /** Default `'localhost'`: resolved, then reached over the RDMA device owning the route. */
  host?: string;
  /** Address to connect from. */
  localAddress?: string;
  /** Idle timeout, as {@link SdpSocket.setTimeout}. */
  timeout?: number;
  /** Bound on the whole connection set-up (resolution + handshake); default 30 s -> ETIMEDOUT. */
  connectTimeout?: number;
  /** Call {@link SdpSocket.setNoDelay} once connected. */
  noDelay?: boolean;
  /** Enable keepalive probes once connected ({@link SdpSocket.setKeepAlive}). */
  keepAlive?: boolean;
  /** With `keepAlive`: ms between probes of an idle peer (at least 1000). */
  keepAliveInitialDelay?: number;
}

/** Address of a socket end, as `net.Socket.address()`. */
export interface AddressInfo {
  /** Numeric IP address. */
  address: string;
  /** `'IPv4'` or `'IPv6'`. */
  family: string;
  /** Port. */
  port: number;
}

/** `connect(options[, listener])`, `connect(port[, host][, listener])`: checked, as one shape. */
export function normalizeConnectArgs(
  a: ConnectOptions | number,
  b?: string | (() => void),
  c?: () => void,
): { options: ConnectOptions; listener?: () => void } {
  let options: ConnectOptions;
  let listener: (() => void) | undefined;
  if (typeof a === 'object' && a !== null) {
    options = a;
    listener = typeof b === 'function' ? b : undefined;
  } else {
    options = { port: a as number };
    if (typeof b === 'string') {
      options.host = b;
      listener = c;
    } else listener = b;
  }
  const port = typeof options.port === 'string' ? Number(options.port) : options.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    const err = new RangeError(`connect: port must be an integer in [1, 65535]; got ${String(options.port)}`) as RangeError & { code: string };
    err.code = 'ERR_SOCKET_BAD_PORT';
    throw err;
  }
  if (options.host !== undefined && typeof options.host !== 'string') throw new TypeError('connect: host must be a string');
  if (listener !== undefined && typeof listener !== 'function') throw new TypeError('connect: listener must be a function');
  return { options: { ...options, port }, listener };
}
