/**
 * Line prefixing for the launcher's merged output: each rank's stream is cut
 * into lines, and each line goes out whole with `[rank] ` in front, so lines
 * of different ranks interleave but never mix.
 * @module
 */

/** Longest partial line held back; a longer one goes out in pieces, each prefixed and newline-terminated. */
export const MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;

/**
 * Prefixes every line of one byte stream. Works on bytes, so a multi-byte
 * UTF-8 character split across chunks (or output that is not UTF-8 at all)
 * passes through unchanged.
 */
export class LinePrefixer {
  readonly #prefix: Buffer;
  readonly #emit: (chunk: Buffer) => void;
  readonly #maxLine: number;
  #partial: Buffer[] = [];
  #partialBytes = 0;

  /**
   * @param prefix put before every line, e.g. `'[3] '`
   * @param emit receives prefixed, complete lines (one call per input chunk)
   * @throws RangeError when `maxLineBytes` is not a positive integer.
   */
  constructor(prefix: string, emit: (chunk: Buffer) => void, maxLineBytes = MAX_LINE_BYTES) {
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    this.#prefix = Buffer.from(prefix, 'utf8');
    this.#emit = emit;
    this.#maxLine = maxLineBytes;
  }

  /** Feeds bytes; emits the lines they complete. Never throws (unless `emit` does). */
  push(chunk: Uint8Array): void {
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      out.push(this.#prefix, ...this.#partial, Buffer.from(chunk.subarray(start, nl + 1)));
      this.#partial = [];
      this.#partialBytes = 0;
      start = nl + 1;
    }
    let rest = chunk.subarray(start);
    // Bound memory for output that never ends a line (progress bars, binary).
    while (this.#partialBytes + rest.length > this.#maxLine) {
      const room = this.#maxLine - this.#partialBytes;
      out.push(this.#prefix, ...this.#partial, Buffer.from(rest.subarray(0, room)), Buffer.from('\n'));
      this.#partial = [];
      this.#partialBytes = 0;
      rest = rest.subarray(room);
    }
    if (rest.length > 0) {
      this.#partial.push(Buffer.from(rest));
      this.#partialBytes += rest.length;
    }
    if (out.length > 0) this.#emit(Buffer.concat(out));
  }

  /** At the end of the stream: emits a held-back partial line, with a newline added. */
  flush(): void {
    if (this.#partialBytes === 0) return;
    const out = Buffer.concat([this.#prefix, ...this.#partial, Buffer.from('\n')]);
    this.#partial = [];
    this.#partialBytes = 0;
    this.#emit(out);
  }
}
