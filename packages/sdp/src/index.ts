/**
 * `@rdmajs/sdp`: `net.Socket`-compatible byte streams over RDMA.
 *
 * ```ts
 * import * as sdp from '@rdmajs/sdp';
 * const server = sdp.createServer((socket) => socket.pipe(socket)).listen(7000, '10.9.0.1');
 * const socket = sdp.connect(7000, '10.9.0.1', () => socket.end('hello'));
 * socket.on('data', (d) => console.log(String(d)));
 * ```
 *
 * Each connection is an RC queue pair set up by rdma_cm; bytes travel by
 * RDMA WRITE into a ring the receiver registered, with byte-granular
 * credits coming back (docs/sdp.md, "The protocol"). Progress is driven by the
 * completion channel on the libuv loop: no thread, no busy loop unless
 * `busyPollUs` asks for one. {@link install} routes unmodified `net`/`http`
 * code over SDP.
 * @document ../README.md
 * @module @rdmajs/sdp
 */
export { SdpSocket, connect, createConnection } from './socket.js';
export type { AddressInfo, ConnectOptions, SocketOptions } from './socket-options.js';
export { Server, createServer, type ListenOptions, type ServerOptions } from './server.js';
export { install, uninstall, matcher, matchFromEnv, type InstallOptions, type Match, type Target } from './install.js';
export { SdpError } from './errors.js';
export type { LinkOptions } from './link/options.js';
/** @internal The wire format, for tests and a second implementation: not a stable API. */
export * as protocol from './protocol.js';
