/**
 * The rendezvous wire codec: a frame is a 4-byte big-endian length and that
 * many bytes of UTF-8 JSON, at most `maxFrameBytes`. A length over the bound
 * is refused before its body is buffered, so garbage (an HTTP request, a
 * port scanner) reads as an oversized or malformed frame, not as a 1 GiB
 * allocation.
 * @module
 */
import { MpError } from '../errors.js';

/** Default largest frame, either way; rank 0's answer (the whole table) must fit too. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

const LENGTH_BYTES = 4;

/**
 * One frame: 4-byte big-endian length, then `value` as UTF-8 JSON.
 * @throws TypeError when `value` is not JSON-able (BigInt, cycles, a bare `undefined`);
 *   RangeError when the JSON is longer than `maxFrameBytes`.
 */
export function encodeFrame(value: unknown, maxFrameBytes = MAX_FRAME_BYTES): Buffer {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('a rendezvous frame must be JSON-able, got undefined or a function');
  const body = Buffer.from(json, 'utf8');
  if (body.length > maxFrameBytes) throw new RangeError(`a rendezvous frame of ${body.length} bytes exceeds maxFrameBytes (${maxFrameBytes})`);
  const frame = Buffer.allocUnsafe(LENGTH_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, LENGTH_BYTES);
  return frame;
}

/**
 * Reassembles frames from a byte stream cut anywhere (partial lengths,
 * partial bodies, several frames in one chunk).
 */
export class FrameDecoder {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** Never throws. */
  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.#max = maxFrameBytes;
  }

  /** Bytes received but not yet part of a whole frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * Feeds bytes; returns the frames they complete, decoded.
   * @throws MpError `'EPROTO'` for a length over `maxFrameBytes` (checked before buffering the body) or a body
   *   that is not UTF-8 JSON; the stream is then unusable (frames before the bad one are lost: use
   *   {@link pushEach} to see them).
   */
  push(chunk: Uint8Array): unknown[] {
    const out: unknown[] = [];
    this.pushEach(chunk, (value) => out.push(value));
    return out;
  }

  /**
   * Feeds bytes; calls `onFrame` for each frame they complete, in order, before throwing for a bad one.
   * @throws MpError `'EPROTO'` as {@link push}; whatever `onFrame` throws.
   */
  pushEach(chunk: Uint8Array, onFrame: (value: unknown) => void): void {
    if (chunk.length > 0) {
      this.#chunks.push(Buffer.from(chunk)); // a copy: the caller may reuse its buffer
      this.#buffered += chunk.length;
    }
    for (;;) {
      if (this.#buffered < LENGTH_BYTES) return;
      const head = this.#take(LENGTH_BYTES, false);
      const length = head.readUInt32BE(0);
      if (length > this.#max) {
        throw new MpError({ code: 'EPROTO' }, `a frame announces ${length} bytes, over maxFrameBytes (${this.#max}): not the rendezvous protocol`);
      }
      if (this.#buffered < LENGTH_BYTES + length) return;
      this.#take(LENGTH_BYTES, true);
      const body = this.#take(length, true);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(body);
      } catch {
        throw new MpError({ code: 'EPROTO' }, 'a frame is not valid UTF-8');
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new MpError({ code: 'EPROTO' }, `a frame is not JSON: ${JSON.stringify(text.slice(0, 40))}`);
      }
      onFrame(value);
    }
  }

  /** The first `n` buffered bytes (`n <= buffered`), removed when `consume`. */
  #take(n: number, consume: boolean): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (consume) {
        if (first.length === n) this.#chunks.shift();
        else this.#chunks[0] = first.subarray(n);
      }
    } else {
      const whole = Buffer.concat(this.#chunks);
      out = whole.subarray(0, n);
      this.#chunks = consume ? (whole.length > n ? [whole.subarray(n)] : []) : [whole];
    }
    if (consume) this.#buffered -= n;
    return out;
  }
}
