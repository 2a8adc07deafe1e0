/**
 * A rendezvous TCP connection speaking frames (frame.ts): decodes what
 * arrives into messages for its session, writes frames, and closes
 * politely (half-close, wait a bounded time for the peer's FIN) so that a
 * last frame (a table, a bye, an error) is not lost to a reset.
 * @module
 */
import type { Socket } from 'node:net';

import { MpError } from '../errors.js';
import { formatHostPort } from './format.js';
import { FrameDecoder } from './frame.js';

/** How long closing waits for the peer's FIN before dropping a socket. */
const CLOSE_GRACE_MS = 1_000;

/** A socket speaking frames; reports each decoded message, a protocol error, and the end. */
export class Conn {
  readonly socket: Socket;
  readonly remote: string;
  /** Set by rank 0 once the hello is accepted. */
  rank: number | undefined;
  /** The peer said it is leaving on purpose. */
  bye = false;
  #decoder: FrameDecoder;
  #closed: Promise<void>;
  #isClosed = false;

  constructor(
    socket: Socket,
    maxFrameBytes: number,
    onMessage: (conn: Conn, msg: unknown) => void,
    onBadFrame: (conn: Conn, err: MpError) => void,
    onGone: (conn: Conn, err: Error | undefined) => void,
  ) {
    this.socket = socket;
    this.remote = socket.remoteAddress === undefined ? 'an unknown address' : formatHostPort({ host: socket.remoteAddress, port: socket.remotePort ?? 0 });
    this.#decoder = new FrameDecoder(maxFrameBytes);
    socket.setNoDelay(true);
    let lastError: Error | undefined;
    // After garbage the stream is out of step for good: later bytes are read (so the FIN is seen) and dropped.
    let broken = false;
    socket.on('data', (chunk: Buffer) => {
      if (broken) return;
      try {
        this.#decoder.pushEach(chunk, (msg) => {
          // A handler may tear the connection down mid-chunk; later messages are moot then.
          if (!socket.destroyed) onMessage(this, msg);
        });
      } catch (err) {
        broken = true;
        if (err instanceof MpError) onBadFrame(this, err);
        else throw err;
      }
    });
    socket.on('error', (err) => (lastError = err));
    this.#closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true;
        onGone(this, lastError);
        resolve();
      }),
    );
  }

  send(frame: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(frame);
  }

  /** Sends `last` (if any), half-closes, and waits (bounded) for the peer to close too; then drops the socket. */
  async end(last?: Buffer): Promise<void> {
    if (this.#isClosed) return;
    if (this.socket.writable) {
      if (last === undefined) this.socket.end();
      else this.socket.end(last);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    this.socket.destroy();
    await this.#closed;
  }
}
