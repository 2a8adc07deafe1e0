/**
 * The connect/accept handshake, one module for both ends: allocate the
 * local side (PD, CQ, ring, receives posted before the peer can send),
 * exchange hellos in rdma_cm's private data, refuse a peer that speaks
 * another protocol, and hand the connected transport on. socket.ts dials
 * with {@link dial}; server.ts answers with {@link readHello} and
 * {@link answer}.
 * @module
 */
import { cm } from '@rdmajs/verbs';

import { debuglog } from '@rdmajs/verbs/debug';
import { acquireDevice } from './device.js';
import { sdpError } from './errors.js';
import type { LinkOptions } from './link/options.js';
import { LocalSide, VerbsTransport } from './link/verbs-transport.js';
import { HelloError, decodeHello, encodeHello, type Hello } from './protocol.js';

const debug = debuglog('sdp');

/** Address of a connection end (as `net`'s AddressInfo). */
export interface EndAddress {
  address: string;
  family: string;
  port: number;
}

/** A connection whose handshake completed: what its Link is built from. */
export interface Handshake {
  readonly transport: VerbsTransport;
  readonly peer: Hello;
  readonly local: EndAddress | undefined;
  readonly remote: EndAddress | undefined;
}

/** Where to connect, and how long the whole set-up may take. */
export interface DialOptions extends LinkOptions {
  host: string;
  port: number;
  localAddress?: string;
  connectTimeout?: number;
}

function toEnd(a: cm.CmAddress | null): EndAddress | undefined {
  return a ? { address: a.address, family: a.family, port: a.port } : undefined;
}

// What rdma_cm needs from our side, the same on both ends.
function cmSide(l: LocalSide) {
  return { pd: l.pd, qp: l.qpOptions(), privateData: encodeHello(l.hello()), prepare: (qp: Parameters<LocalSide['postReceives']>[0]) => l.postReceives(qp) };
}

/**
 * Connects to `o.host:o.port`, then runs `ready` with the handshake (its
 * throw undoes the connection). Returns false when `aborted()` turned true
 * meanwhile (all undone). A peer with another protocol is ECONNREFUSED;
 * rdma_cm's errors pass through as they are.
 */
export async function dial(o: DialOptions, aborted: () => boolean, ready: (hs: Handshake) => void): Promise<boolean> {
  const local = new LocalSide(acquireDevice(o.device), o);
  try {
    const conn = await cm.connect({ ...cmSide(local), host: o.host, port: o.port, source: o.localAddress, timeoutMs: o.connectTimeout ?? 30_000 });
    let peer: Hello;
    try {
      peer = decodeHello(conn.remotePrivateData);
    } catch (err) {
      await conn.close();
      throw sdpError('ECONNREFUSED', 'connect', (err as HelloError).message, { address: o.host, port: o.port });
    }
    if (aborted()) {
      await conn.close();
      local.close();
      return false;
    }
    ready({ transport: new VerbsTransport(local, conn), peer, local: toEnd(conn.localAddress), remote: toEnd(conn.remoteAddress) });
    return true;
  } catch (err) {
    local.close();
    throw err;
  }
}

/** The hello of a connection request, or undefined after refusing a peer that speaks another protocol. */
export function readHello(req: cm.ConnectionRequest): Hello | undefined {
  try {
    return decodeHello(req.remotePrivateData);
  } catch (err) {
    refuse(req, (err as HelloError).message);
    return undefined;
  }
}

/** Rejects a connection request; the peer's connect fails with ECONNREFUSED. */
export function refuse(req: cm.ConnectionRequest, why: string): void {
  debug(`refusing a connection: ${why}`);
  req.reject(Buffer.from(`SDP: ${why}`.slice(0, 140)));
}

/**
 * Accepts a request whose hello was `peer`, then runs `ready` with the
 * handshake (its throw undoes the connection). Throws when the peer gave
 * up or the device failed.
 */
export async function answer(req: cm.ConnectionRequest, peer: Hello, o: LinkOptions, ready: (hs: Handshake) => void): Promise<void> {
  const local = new LocalSide(acquireDevice(req.device ?? undefined), o);
  try {
    // The client may write the moment its connect returns: be ready then,
    // not only once rdma_cm confirms (rxe can be slow to).
    const conn = await req.accept({ ...cmSide(local), early: true });
    ready({ transport: new VerbsTransport(local, conn), peer, local: toEnd(conn.localAddress), remote: toEnd(conn.remoteAddress) });
  } catch (err) {
    local.close();
    throw err;
  }
}
