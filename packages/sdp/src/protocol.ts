/**
 * The SDP wire protocol, as pure functions: the handshake record carried in
 * rdma_cm private data, the 32-bit immediate that tags every message, and
 * the wrapping 32-bit cursor arithmetic both sides use. docs/sdp.md ("The
 * protocol") describes it for a second implementation; this file is the
 * reference.
 * @module
 */

/** Protocol version spoken here; a peer with another version is refused. */
export const VERSION = 1;
const MAGIC0 = 0x53; // 'S'
const MAGIC1 = 0x44; // 'D'

/** Bytes of the handshake record (fits connect's 55-byte private data). */
export const HELLO_BYTES = 24;

/** Smallest and largest receive ring a peer may announce. */
export const MIN_RING = 4096;
export const MAX_RING = 1 << 27;

/** Receive WQEs held back for control messages (data never uses them). */
export const CONTROL_RESERVE = 8;

/**
 * Bytes after the ring in the same registration: the credit word the peer
 * RDMA-writes (consumed-bytes cursor, then reposted-receives counter, both
 * little-endian u32).
 */
export const CREDIT_BYTES = 8;

/** What each side tells the other at connect/accept time. */
export interface Hello {
  version: number;
  /** Feature bits; none defined in version 1 (must be 0). */
  flags: number;
  /** Receive ring size in bytes (a power of two). */
  ringSize: number;
  /** Address of the ring; the credit word follows it at `ringAddress + ringSize`. */
  ringAddress: bigint;
  /** rkey covering the ring and the credit word. */
  rkey: number;
  /** Receive WQEs posted before connecting (message credits, reserve included). */
  recvCredits: number;
}

export function encodeHello(h: Hello): Buffer {
  const b = Buffer.alloc(HELLO_BYTES);
  b[0] = MAGIC0;
  b[1] = MAGIC1;
  b[2] = h.version;
  b[3] = h.flags;
  b.writeUInt32LE(h.ringSize, 4);
  b.writeBigUInt64LE(h.ringAddress, 8);
  b.writeUInt32LE(h.rkey, 16);
  b.writeUInt32LE(h.recvCredits, 20);
  return b;
}

/** Why a handshake record was refused (the text goes into the reject). */
export class HelloError extends Error {
  constructor(
    message: string,
    /** True when the record is well formed but of another version. */
    readonly versionMismatch = false,
  ) {
    super(message);
    this.name = 'HelloError';
  }
}

/** Parses and validates a peer's record; throws {@link HelloError}. */
export function decodeHello(b: Uint8Array): Hello {
  if (b.length < 4 || b[0] !== MAGIC0 || b[1] !== MAGIC1) throw new HelloError('not an SDP peer (bad magic)');
  if (b[2] !== VERSION) throw new HelloError(`peer speaks SDP version ${b[2]}; this side speaks ${VERSION}`, true);
  if (b.length < HELLO_BYTES) throw new HelloError(`handshake is ${b.length} bytes; expected ${HELLO_BYTES}`);
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const h: Hello = {
    version: v[2]!,
    flags: v[3]!,
    ringSize: v.readUInt32LE(4),
    ringAddress: v.readBigUInt64LE(8),
    rkey: v.readUInt32LE(16),
    recvCredits: v.readUInt32LE(20),
  };
  if (h.flags !== 0) throw new HelloError(`unknown feature bits 0x${h.flags.toString(16)}`);
  if (!isPowerOfTwo(h.ringSize) || h.ringSize < MIN_RING || h.ringSize > MAX_RING) {
    throw new HelloError(`ring size ${h.ringSize} is not a power of two in [${MIN_RING}, ${MAX_RING}]`);
  }
  if (h.recvCredits <= CONTROL_RESERVE || h.recvCredits > 1 << 16) {
    throw new HelloError(`receive credits ${h.recvCredits} not in [${CONTROL_RESERVE + 1}, 65536]`);
  }
  return h;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/**
 * Message kinds, in the top 4 bits of the immediate. DATA arrives as
 * RDMA_WRITE_WITH_IMM (the bytes already in the ring); the rest are
 * zero-length SEND_WITH_IMM.
 */
export const Kind = {
  /** Low 28 bits: bytes of this batch, written just before it at the ring's tail. */
  DATA: 0,
  /** The sender updated your credit word: read it (answers BLOCKED). */
  CREDIT: 1,
  /** The sender has data but no credit; wake it when there is. */
  BLOCKED: 2,
  /** No more data from the sender (half-close); follows all its data. */
  FIN: 3,
  /** The sender gave up on the connection (destroy()); low bits: reason. */
  ABORT: 4,
  /** Liveness probe; needs no answer (the RC ack is the answer). */
  KEEPALIVE: 5,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export const IMM_VALUE_MASK = 0x0fff_ffff;

export function imm(kind: Kind, value = 0): number {
  return ((kind << 28) | (value & IMM_VALUE_MASK)) >>> 0;
}

export function immKind(i: number): number {
  return i >>> 28;
}

export function immValue(i: number): number {
  return i & IMM_VALUE_MASK;
}

/** `a - b` on wrapping 32-bit cursors. */
export function dist(a: number, b: number): number {
  return (a - b) >>> 0;
}

/** `a + n` on a wrapping 32-bit cursor. */
export function advance(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * Checks a cursor the peer wrote: it may only move forward from `last`, and
 * never past `limit` (what we have actually given it). Returns false when
 * the peer is lying (or broken).
 */
export function validCursor(value: number, last: number, limit: number): boolean {
  return dist(value, last) <= dist(limit, last);
}
