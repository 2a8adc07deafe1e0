/**
 * The verbs transport's knobs: the options a user may pass
 * ({@link TransportOptions}) and their checks, the sizes fixed at build time
 * (bounce buffers, queue depths), the completion-id ranges that tell the
 * progress loop what completed, and the two interfaces the transport
 * shares with the layers around it (the engine's {@link TransportHandler},
 * the endpoint a rank publishes).
 * @internal
 * @module
 */
import type { Endpoint } from '@rdmajs/verbs';

import * as check from '../check.js';
import type { MpError } from '../errors.js';
import type { Announcement } from './peer.js';
import { HEADER_BYTES } from './wire.js';

/** What the transport hands up. Called from the progress loop; must not throw. */
export interface TransportHandler {
  /** An eager message: its payload is `bytes[start, start + length)`, valid only during the call. */
  onEager(context: number, source: number, tag: number, bytes: Uint8Array, start: number, length: number): void;
  /** A rendezvous announcement: answer it later with {@link VerbsTransport.fetch} or {@link VerbsTransport.decline}. */
  onRts(context: number, source: number, tag: number, announcement: Announcement): void;
  /** The connection to `peer` failed: every operation involving it has been failed with `err`. */
  onPeerFailure(peer: number, err: MpError): void;
}

/** Tunables of the verbs transport under a communicator; pass them to {@link init} (they are part of {@link InitOptions}). */
export interface TransportOptions {
  /** Largest eager payload; larger messages use rendezvous. Default and maximum {@link DEFAULT_EAGER_LIMIT}. */
  eagerLimit?: number;
  /** Credits (receive buffers) per peer. Default: 64, less for large jobs. */
  window?: number;
  /** Busy-poll the CQ this long before sleeping on the channel (latency for CPU). Default 0. */
  busyPollUs?: number;
  /**
   * How long a first connection to a peer may take (it must answer the
   * handshake: a rank that is dead, or alive but never returns to its event
   * loop, fails the operation with `'EPEERDEAD'`), in ms. Default 30000.
   */
  connectTimeoutMs?: number;
}

/**
 * What a rank publishes so peers can connect to it when they first need to:
 * its handshake (UD) queue pair's endpoint. Plain JSON.
 */
export interface WireEndpoint {
  /** Byte order check: `1` as a little-endian u16 read back. */
  littleEndian: boolean;
  /** The UD QP of the handshake (its gid, lid, port and mtu are the port's, for the RC QPs too). */
  wireup: Endpoint;
}

/**
 * Bytes of one bounce buffer, header included. Measured on rxe (deterministic
 * testbed, 2 ranks, half round trip): eager beats rendezvous up to ~32 KiB
 * (16 KiB: 273 vs 337 us; 32 KiB: 476 vs 504 us; 60000 B: even).
 */
export const SLOT_BYTES = 32768;
/** Default (and largest) eager payload. */
export const DEFAULT_EAGER_LIMIT = SLOT_BYTES - HEADER_BYTES;
/** Entries of each QP's send queue. */
export const SQ_DEPTH = 128;
/** Send bounce buffers (shared by all peers). */
export const SEND_SLOTS = 256;
/** Receive buffer memory across all peers: the window shrinks for large jobs (down to 8 per peer). */
const RECV_BUDGET_BYTES = 32 << 20;
/** Extra SRQ buffers for CREDIT frames (two in flight per peer at most). */
export const CREDIT_RESERVE_PER_PEER = 2;
/** Default bound of a first connection (TransportOptions.connectTimeoutMs). */
const CONNECT_TIMEOUT_MS = 30_000;

// Completion ids: a send slot's index, `UNSIGNALED_ID`, `READ_ID_BASE + op`
// for a READ, or `WIREUP_ID_BASE + ...` for the handshake's own QP.
/** Completion ids of RDMA READs start here (below: send slots). */
export const READ_ID_BASE = 2 ** 32;
/** Completion id of an unsignaled send (seen only if it fails). */
export const UNSIGNALED_ID = READ_ID_BASE - 1;
/** Completion ids of the connection handshake (wireup.ts) start here. */
export const WIREUP_ID_BASE = 2 ** 40;

/** {@link TransportOptions} checked, with every default filled in. */
export interface TransportConfig {
  eagerLimit: number;
  window: number;
  busyPollUs: number;
  connectTimeoutMs: number;
}

/**
 * Checks `options` for a job of `size` ranks and fills in the defaults.
 * @throws TypeError / RangeError naming `init` and the option.
 */
export function transportConfig(size: number, options: TransportOptions): TransportConfig {
  const m = 'init';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${m}: options must be an object`);
  const peers = Math.max(size - 1, 1);
  return {
    eagerLimit: options.eagerLimit === undefined ? DEFAULT_EAGER_LIMIT : check.int(m, 'eagerLimit', options.eagerLimit, 0, DEFAULT_EAGER_LIMIT),
    window:
      options.window === undefined ? Math.max(8, Math.min(64, Math.floor(RECV_BUDGET_BYTES / SLOT_BYTES / peers))) : check.int(m, 'window', options.window, 2, 4096),
    busyPollUs: options.busyPollUs === undefined ? 0 : check.int(m, 'busyPollUs', options.busyPollUs, 0, 1_000_000),
    connectTimeoutMs:
      options.connectTimeoutMs === undefined ? CONNECT_TIMEOUT_MS : check.int(m, 'connectTimeoutMs', options.connectTimeoutMs, 1, 0x7fff_ffff),
  };
}
