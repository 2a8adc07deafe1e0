/**
 * The one wire layout of @rdmajs/mp: every message a rank SENDs to another
 * lands in one of the receiver's bounce buffers and starts with this
 * header. Both sides read and write it through the offsets below only.
 *
 * ```
 * offset  size  field
 *  0      u8    kind     (FRAME.*)
 *  1      u8    reserved (0)
 *  2      u16   credits  bounce buffers the sender has reposted for the receiver since its last frame
 *  4      u32   context  communicator context id (matching engine)
 *  8      u32   source   sender's world rank
 * 12      u32   tag
 * 16      u32   length   EAGER: payload bytes that follow; RTS: the announced message length
 * 20      u32   id       RTS: the sender's rendezvous id; FIN: the id it releases
 * 24      u64   address  RTS: where the receiver RDMA READs from
 * 32      u32   rkey     RTS: its rkey
 * 36      u32   reserved (0)
 * ```
 * EAGER payload follows the first {@link HEADER_BYTES}; RTS frames are
 * {@link RTS_BYTES} long. All fields little-endian (both ends run this code
 * on x86-64 or arm64; a big-endian peer is refused at connection time).
 * @internal
 * @module
 */

/** Frame kinds. */
export const FRAME = {
  /** A whole small message: header + payload. */
  eager: 1,
  /** Rendezvous announcement: "READ `length` bytes at address/rkey, then FIN me". */
  rts: 2,
  /** Rendezvous done: the receiver has read (or refused) the data; the sender may reuse it. */
  fin: 3,
  /** Only returns credits. */
  credit: 4,
} as const;

export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

export const OFF_KIND = 0;
export const OFF_CREDITS = 2;
export const OFF_CONTEXT = 4;
export const OFF_SOURCE = 8;
export const OFF_TAG = 12;
export const OFF_LENGTH = 16;
export const OFF_ID = 20;
export const OFF_ADDRESS = 24;
export const OFF_RKEY = 32;

/** Header of every frame; EAGER payload starts here. */
export const HEADER_BYTES = 24;
/** Length of an RTS frame. */
export const RTS_BYTES = 40;
/** Largest credit count one frame carries. */
export const MAX_CREDITS_FIELD = 0xffff;
/** Largest message length the u32 field carries. */
export const MAX_MESSAGE_BYTES = 0xffff_ffff;

/** Fields of one frame, as read by {@link readHeader} (reused object: copy what you keep). */
export interface Header {
  kind: number;
  credits: number;
  context: number;
  source: number;
  tag: number;
  length: number;
  id: number;
  address: bigint;
  rkey: number;
}

/** Writes a header at `offset` of `view`. */
export function writeHeader(
  view: DataView,
  offset: number,
  kind: FrameKind,
  credits: number,
  context: number,
  source: number,
  tag: number,
  length: number,
  id: number,
): void {
  view.setUint8(offset + OFF_KIND, kind);
  view.setUint8(offset + 1, 0);
  view.setUint16(offset + OFF_CREDITS, credits, true);
  view.setUint32(offset + OFF_CONTEXT, context, true);
  view.setUint32(offset + OFF_SOURCE, source, true);
  view.setUint32(offset + OFF_TAG, tag, true);
  view.setUint32(offset + OFF_LENGTH, length, true);
  view.setUint32(offset + OFF_ID, id, true);
}

/** Writes the RTS extension (address, rkey) after a header at `offset`. */
export function writeRts(view: DataView, offset: number, address: bigint, rkey: number): void {
  view.setBigUint64(offset + OFF_ADDRESS, address, true);
  view.setUint32(offset + OFF_RKEY, rkey, true);
  view.setUint32(offset + 36, 0, true);
}

/** Reads the frame at `offset` into `out` (the RTS fields only for an RTS). */
export function readHeader(view: DataView, offset: number, out: Header): Header {
  out.kind = view.getUint8(offset + OFF_KIND);
  out.credits = view.getUint16(offset + OFF_CREDITS, true);
  out.context = view.getUint32(offset + OFF_CONTEXT, true);
  out.source = view.getUint32(offset + OFF_SOURCE, true);
  out.tag = view.getUint32(offset + OFF_TAG, true);
  out.length = view.getUint32(offset + OFF_LENGTH, true);
  out.id = view.getUint32(offset + OFF_ID, true);
  if (out.kind === FRAME.rts) {
    out.address = view.getBigUint64(offset + OFF_ADDRESS, true);
    out.rkey = view.getUint32(offset + OFF_RKEY, true);
  }
  return out;
}

/** A blank {@link Header} to read into. */
export function emptyHeader(): Header {
  return { kind: 0, credits: 0, context: 0, source: 0, tag: 0, length: 0, id: 0, address: 0n, rkey: 0 };
}
