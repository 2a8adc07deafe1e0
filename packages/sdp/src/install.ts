/**
 * Drop-in mode: route chosen `net` connections and servers over SDP so
 * unmodified code (Node's `http`, database drivers, ...) runs over RDMA,
 * as rsockets' preload library does for C programs.
 *
 * ```ts
 * import { install } from '@rdmajs/sdp';
 * install({ match: ['10.9.0.1:8080'] });   // or a predicate
 * http.createServer(app).listen(8080, '10.9.0.1');   // now over RDMA
 * ```
 * or, without touching the code: `RDMAJS_SDP='*:8080' node --import @rdmajs/sdp/register app.js`.
 * @module
 */
import http from 'node:http';
import net from 'node:net';

import { Server, createServer } from './server.js';
import { connect } from './socket.js';
import type { ConnectOptions } from './socket-options.js';

/** A connection or listen target. `host` is undefined for "every interface". */
export interface Target {
  /** Host name or address as the caller gave it (`'localhost'` when omitted on connect). */
  host: string | undefined;
  /** Port number. */
  port: number;
}

/**
 * Which targets go over SDP: a predicate, or patterns `'host:port'` where
 * either part may be `*` (a bare number means `*:port`).
 */
export type Match = ((target: Target) => boolean) | ReadonlyArray<string | number>;

/** Options of {@link install}. */
export interface InstallOptions {
  /** Which connections and servers go over SDP; the rest stay on TCP. */
  match: Match;
  /** Options given to every SDP socket/server made by the hook (ring size, device, ...). */
  socket?: Omit<ConnectOptions, 'port' | 'host'>;
}

type NetConnect = typeof net.connect;
interface Saved {
  connect: NetConnect;
  createConnection: NetConnect;
  agentCreateConnection: unknown;
  listen: typeof net.Server.prototype.listen;
}
let saved: Saved | undefined;

/** Compiles a {@link Match} into a predicate. */
export function matcher(match: Match): (t: Target) => boolean {
  if (typeof match === 'function') return match;
  if (!Array.isArray(match)) throw new TypeError('install: match must be a function or an array of "host:port" patterns');
  const rules = match.map((m) => {
    const text = typeof m === 'number' ? `*:${m}` : m;
    if (typeof text !== 'string') throw new TypeError(`install: bad match pattern ${String(m)}`);
    const i = text.lastIndexOf(':');
    if (i < 0) throw new TypeError(`install: pattern "${text}" must be host:port (either may be *)`);
    const host = text.slice(0, i).replace(/^\[|\]$/g, '');
    const port = text.slice(i + 1);
    if (port !== '*' && !/^\d+$/.test(port)) throw new TypeError(`install: bad port in pattern "${text}"`);
    return { host, port: port === '*' ? -1 : Number(port) };
  });
  return (t) => rules.some((r) => (r.port === -1 || r.port === t.port) && (r.host === '*' || r.host === t.host));
}

/** Parses `RDMAJS_SDP` (comma-separated patterns); undefined when unset. */
export function matchFromEnv(value = process.env.RDMAJS_SDP): Match | undefined {
  if (!value) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function connectTarget(args: unknown[]): Target | undefined {
  const a = args[0];
  if (Array.isArray(a)) return connectTarget(a); // net's internal normalized form
  if (typeof a === 'object' && a !== null) {
    const o = a as { port?: unknown; host?: unknown; path?: unknown };
    if (o.path || o.port === undefined || o.port === null) return undefined; // IPC (net treats any truthy path so)
    return { host: typeof o.host === 'string' ? o.host : 'localhost', port: Number(o.port) };
  }
  if (typeof a === 'number' || (typeof a === 'string' && /^\d+$/.test(a))) {
    return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(a) };
  }
  return undefined;
}

/**
 * Installs the hook; returns a function that removes it. Installing again
 * replaces the previous match.
 */
export function install(options: InstallOptions): () => void {
  if (typeof options !== 'object' || options === null) throw new TypeError('install: options must be an object');
  const match = matcher(options.match);
  const socketOptions = options.socket ?? {};
  uninstall();
  const orig: Saved = {
    connect: net.connect,
    createConnection: net.createConnection,
    agentCreateConnection: http.Agent.prototype.createConnection,
    listen: net.Server.prototype.listen,
  };
  saved = orig;

  const hooked = (fallback: NetConnect) =>
    function (this: unknown, ...args: unknown[]) {
      const t = connectTarget(args);
      if (t && match(t)) {
        const cb = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as () => void) : undefined;
        const o = typeof args[0] === 'object' && args[0] !== null ? (args[0] as Record<string, unknown>) : {};
        return connect({ ...socketOptions, ...pick(o), host: t.host, port: t.port }, cb);
      }
      return (fallback as (...a: unknown[]) => unknown).apply(this, args);
    } as unknown as NetConnect;

  net.connect = hooked(orig.connect);
  net.createConnection = hooked(orig.createConnection);
  // http's Agent took a reference to net.createConnection when it loaded.
  (http.Agent.prototype as unknown as { createConnection: unknown }).createConnection = hooked(orig.agentCreateConnection as NetConnect);

  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    const t = listenTarget(args);
    if (t && match(t)) return listenOverSdp(this, t, args, socketOptions);
    return (orig.listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof net.Server.prototype.listen;

  return uninstall;
}

/** Removes the hook (harmless when not installed). Servers already listening keep running. */
export function uninstall(): void {
  if (!saved) return;
  net.connect = saved.connect;
  net.createConnection = saved.createConnection;
  (http.Agent.prototype as unknown as { createConnection: unknown }).createConnection = saved.agentCreateConnection;
  net.Server.prototype.listen = saved.listen;
  saved = undefined;
}

// The net.Socket options that mean something to an SDP socket.
function pick(o: Record<string, unknown>): Partial<ConnectOptions> {
  const out: Partial<ConnectOptions> = {};
  for (const k of ['allowHalfOpen', 'timeout', 'noDelay', 'keepAlive', 'keepAliveInitialDelay', 'localAddress', 'signal'] as const) {
    if (o[k] !== undefined) (out as Record<string, unknown>)[k] = o[k];
  }
  return out;
}

function listenTarget(args: unknown[]): Target | undefined {
  const a = args[0];
  if (typeof a === 'object' && a !== null) {
    const o = a as { port?: unknown; host?: unknown; path?: unknown; handle?: unknown; fd?: unknown };
    if (o.path || o.handle || (o.fd !== undefined && o.fd !== null)) return undefined;
    return { host: typeof o.host === 'string' ? o.host : undefined, port: Number(o.port ?? 0) };
  }
  if (a === undefined || typeof a === 'function') return { host: undefined, port: 0 };
  if (typeof a === 'number' || (typeof a === 'string' && /^\d+$/.test(a))) {
    return { host: typeof args[1] === 'string' ? args[1] : undefined, port: Number(a) };
  }
  return undefined;
}

// Makes `server` (a net.Server, e.g. an http.Server) accept over SDP: its
// 'connection' listeners get SdpSockets, and address()/close() follow the
// SDP server.
function listenOverSdp(server: net.Server, t: Target, args: unknown[], socketOptions: InstallOptions['socket']): net.Server {
  const cb = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as () => void) : undefined;
  const backlog = typeof args[0] === 'object' ? (args[0] as { backlog?: number }).backlog : typeof args[2] === 'number' ? args[2] : undefined;
  const sdp: Server = createServer({ ...socketOptions, allowHalfOpen: (server as unknown as { allowHalfOpen?: boolean }).allowHalfOpen ?? false });
  sdp.on('connection', (socket) => server.emit('connection', socket));
  sdp.on('error', (err) => server.emit('error', err));
  sdp.on('listening', () => server.emit('listening'));
  sdp.on('close', () => server.emit('close'));
  if (cb) server.once('listening', cb);
  const s = server as unknown as Record<string, unknown>;
  s.address = () => sdp.address();
  s.close = (done?: (err?: Error) => void) => {
    sdp.close(done);
    return server;
  };
  s.getConnections = (done: (err: Error | null, n: number) => void) => sdp.getConnections(done);
  s.ref = () => (sdp.ref(), server);
  s.unref = () => (sdp.unref(), server);
  Object.defineProperty(server, 'listening', { get: () => sdp.listening, configurable: true });
  sdp.listen({ port: t.port, host: t.host, backlog });
  return server;
}
