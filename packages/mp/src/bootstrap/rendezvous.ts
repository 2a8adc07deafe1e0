/**
 * The out-of-band rendezvous `init()` uses to swap endpoints between ranks,
 * with no service besides the job itself: rank 0 listens on TCP at the root
 * address (`RDMAJS_MP_ROOT=host:port`, see {@link launchEnv}), every other
 * rank connects to it (retrying with backoff, since rank 0 may start last)
 * and introduces itself; each round, every rank sends one small JSON blob
 * and rank 0 answers everyone with the whole table once all `size` ranks are
 * in: an allgather. A {@link Rendezvous.barrier} is the same round with an
 * empty blob.
 *
 * ```ts
 * const peers = await exchange({ rank, size, root, payload: myEndpoint });  // peers[r] = rank r's payload
 * ```
 *
 * Wire format: frames of a 4-byte big-endian length and that many bytes of
 * UTF-8 JSON, at most `maxFrameBytes` each (garbage such as an HTTP request
 * reads as an oversized or malformed frame and is refused). Every wait is
 * bounded by `timeoutMs`; a failure at rank 0 (a rank missing, a duplicate
 * rank, a size mismatch) is sent to every connected rank, so nobody waits
 * for a timeout that rank 0 already knows will come.
 * @module
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

import { MpError, type MpErrorCode } from '../errors.js';
import { MAX_SIZE, type HostPort } from '../types.js';

/** Default bound of each rendezvous wait (connecting, each round). */
export const RENDEZVOUS_TIMEOUT_MS = 60_000;

/** Default largest frame, either way; rank 0's answer (the whole table) must fit too. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Sent in the hello so a stray client (or another protocol version) is told apart from a rank. */
const PROTOCOL = 'rdmajs-mp-rendezvous/1';

/** How long closing waits for the peer's FIN before dropping a socket. */
const CLOSE_GRACE_MS = 1_000;

/** Connect retry backoff: first delay, cap. */
const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 1_000;

const LENGTH_BYTES = 4;

/** Options of {@link openRendezvous}. */
export interface RendezvousOptions {
  /** This process's rank, in `[0, size)`; rank 0 serves the rendezvous. */
  rank: number;
  /** Number of ranks, in `[1, MAX_SIZE]`. */
  size: number;
  /** Where rank 0 listens and the others connect. Needed when `size > 1`; rank 0 may give port 0 (any free port, see {@link Rendezvous.address}). */
  root?: HostPort;
  /** Bound of opening and of each round, in ms (default {@link RENDEZVOUS_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Aborts the whole session: the pending operation rejects with `'ECANCELED'` and the sockets close. */
  signal?: AbortSignal;
  /** Largest frame sent or accepted (default {@link MAX_FRAME_BYTES}). */
  maxFrameBytes?: number;
  /** Rank 0 only: the address to bind, when it differs from `root.host` (e.g. `'0.0.0.0'` behind NAT). */
  listenHost?: string;
}

/** Options of {@link exchange}: those of {@link openRendezvous}, plus this rank's blob. */
export interface ExchangeOptions extends RendezvousOptions {
  /** This rank's contribution; anything `JSON.stringify` takes (`undefined` becomes `null`). */
  payload: unknown;
}

/**
 * An open rendezvous session. Rounds are collective: every rank calls the
 * same sequence of {@link allgather}/{@link barrier}, one at a time. Once an
 * operation fails the session is dead and later ones reject with the same
 * error; {@link close} always resolves.
 */
export interface Rendezvous {
  /** This process's rank; rank 0 is the root that serves the exchange. */
  readonly rank: number;
  /** Number of ranks taking part. */
  readonly size: number;
  /** Rank 0: where it listens (with the real port when it asked for port 0). Others: the root they connected to. */
  readonly address: HostPort | undefined;
  /**
   * Sends `payload` (JSON) and resolves with every rank's, indexed by rank
   * (this rank's as it went through JSON, so all ranks see identical tables).
   * @throws TypeError (synchronously) when `payload` is not JSON-able; RangeError when it exceeds `maxFrameBytes`.
   * Rejects with MpError `'ETIMEDOUT'` (rank 0: naming the ranks that never connected or never joined the
   * round; others: naming the root address), `'EINVAL'` (duplicate rank, size mismatch, calls out of turn,
   * a table over `maxFrameBytes`), `'EPEERDEAD'` (a rank or the root went away), `'EPROTO'` (a malformed frame),
   * `'ECANCELED'` (the signal fired), `'ECLOSED'` (after {@link close}).
   */
  allgather(payload: unknown): Promise<unknown[]>;
  /** Resolves once every rank has called `barrier()`. Rejects like {@link allgather}. */
  barrier(): Promise<void>;
  /**
   * Calls `listener` when a rank's session ends while this one is open:
   * `clean` when it closed on purpose ({@link close}), not when its process
   * died or its connection broke. Rank 0 sees every rank and tells the
   * others; the others see rank 0 itself. The job's failure detector: a rank
   * that dies mid-computation is known everywhere within a round trip.
   */
  onDeparture(listener: DepartureListener): void;
  /** Closes the sockets (after flushing what was sent) and the listener; never rejects. Idempotent. */
  close(): Promise<void>;
}

/** See {@link Rendezvous.onDeparture}. */
export type DepartureListener = (rank: number, clean: boolean, detail: string) => void;

/** Formats a {@link HostPort} as `host:port`, or `[v6]:port`. Never throws. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

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

/**
 * Opens a rendezvous session: rank 0 starts listening at `root` (bound to
 * `listenHost`, default `root.host`); every other rank connects, retrying
 * with backoff until `timeoutMs`, and is accepted by rank 0 (which checks its
 * rank and size). Size 1 needs no root and no socket.
 * @throws TypeError / RangeError (synchronously) for a malformed rank, size, root, timeout or frame bound.
 * Rejects with MpError `'ELAUNCH'` (rank 0 cannot listen at the root address, e.g. `EADDRINUSE`),
 * `'ETIMEDOUT'` (naming the root address: nothing accepted the connection, or rank 0 did not answer),
 * `'EINVAL'` (rank 0 refused this rank: duplicate rank, different size), `'EPROTO'` (the root does not speak
 * the protocol), `'ECANCELED'` (the signal fired).
 */
export function openRendezvous(options: RendezvousOptions): Promise<Rendezvous> {
  const opts = checkOptions(options);
  return openChecked(opts, Date.now() + opts.timeoutMs);
}

/**
 * One-shot allgather of small blobs: opens a session, runs one round,
 * closes. The whole call is bounded by `timeoutMs`.
 * @returns every rank's payload (after a JSON round trip), indexed by rank.
 * @throws TypeError / RangeError (synchronously) for malformed options or a payload that is not JSON-able
 *   or exceeds `maxFrameBytes`. Rejects like {@link openRendezvous} and {@link Rendezvous.allgather}, e.g.
 *   `ETIMEDOUT: ranks 2, 3 never connected to 10.9.0.1:7470 within 60 s` at rank 0.
 */
export function exchange(options: ExchangeOptions): Promise<unknown[]> {
  const opts = checkOptions(options);
  const payload = jsonValue(options.payload, opts.maxFrameBytes);
  const deadline = Date.now() + opts.timeoutMs;
  return (async () => {
    const session = await openChecked(opts, deadline);
    try {
      return await session.round(payload, deadline);
    } finally {
      await session.close();
    }
  })();
}

// ---------------------------------------------------------------------------
// Options, messages

interface Checked {
  rank: number;
  size: number;
  root: HostPort | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  maxFrameBytes: number;
  listenHost: string | undefined;
}

function checkOptions(o: RendezvousOptions): Checked {
  if (typeof o !== 'object' || o === null) throw new TypeError('rendezvous options must be an object');
  const { rank, size } = o;
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_SIZE) throw new RangeError(`size must be an integer in 1..${MAX_SIZE}, got ${String(size)}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= size) throw new RangeError(`rank must be an integer in 0..${size - 1}, got ${String(rank)}`);
  const timeoutMs = o.timeoutMs ?? RENDEZVOUS_TIMEOUT_MS;
  // setTimeout fires at once for anything above 2^31-1 ms.
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 0x7fff_ffff) throw new RangeError(`timeoutMs must be in (0, 2^31), got ${String(timeoutMs)}`);
  const maxFrameBytes = o.maxFrameBytes ?? MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 64 || maxFrameBytes > 0xffff_ffff) {
    throw new RangeError(`maxFrameBytes must be an integer in 64..2^32-1, got ${String(maxFrameBytes)}`);
  }
  const root = o.root;
  if (root !== undefined) {
    if (typeof root !== 'object' || root === null || typeof root.host !== 'string' || root.host === '') throw new TypeError('root must be { host, port }');
    const lowest = rank === 0 ? 0 : 1;
    if (!Number.isInteger(root.port) || root.port < lowest || root.port > 65535) {
      throw new RangeError(`root.port must be an integer in ${lowest}..65535, got ${String(root.port)}`);
    }
  } else if (size > 1) {
    throw new TypeError('root is required when size > 1 (set RDMAJS_MP_ROOT=host:port, or start the ranks with rdmajs-run)');
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (o.listenHost !== undefined && (typeof o.listenHost !== 'string' || o.listenHost === '')) throw new TypeError('listenHost must be a non-empty string');
  return {
    rank,
    size,
    root: root === undefined ? undefined : { host: root.host, port: root.port },
    timeoutMs,
    signal: o.signal,
    maxFrameBytes,
    listenHost: o.listenHost,
  };
}

/** `payload` after a JSON round trip, checked against the frame bound. */
function jsonValue(payload: unknown, maxFrameBytes: number): unknown {
  const json = JSON.stringify(payload === undefined ? null : payload);
  if (json === undefined) throw new TypeError('a rendezvous payload must be JSON-able');
  if (Buffer.byteLength(json) > maxFrameBytes) throw new RangeError(`a rendezvous payload of ${Buffer.byteLength(json)} bytes exceeds maxFrameBytes (${maxFrameBytes})`);
  return JSON.parse(json) as unknown;
}

type Message =
  | { t: 'hello'; proto: string; rank: number; size: number }
  | { t: 'welcome'; size: number }
  | { t: 'round'; round: number; payload: unknown }
  | { t: 'table'; round: number; payloads: unknown[] }
  | { t: 'bye' }
  | { t: 'gone'; rank: number; clean: boolean; why: string }
  | { t: 'error'; code: MpErrorCode; message: string };

const CODES: ReadonlySet<string> = new Set<MpErrorCode>(['ETRUNC', 'EPEERDEAD', 'ETIMEDOUT', 'ECANCELED', 'ECLOSED', 'EINVAL', 'ELAUNCH', 'EPROTO']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `detail` of an MpError (its message without the `CODE: ` prefix). */
function detailOf(err: MpError): string {
  return err.message.startsWith(`${err.code}: `) ? err.message.slice(err.code.length + 2) : err.message;
}

/** `rank 3`, `ranks 1, 2, 5-9` (runs compressed so 1,000 missing ranks stay one line). */
export function formatRanks(ranks: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ranks.length; ) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j]! + 1) j++;
    parts.push(j - i >= 2 ? `${ranks[i]}-${ranks[j]}` : j > i ? `${ranks[i]}, ${ranks[j]}` : `${ranks[i]}`);
    i = j + 1;
  }
  return `${ranks.length === 1 ? 'rank' : 'ranks'} ${parts.join(', ')}`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function aborted(signal: AbortSignal): MpError {
  return new MpError({ code: 'ECANCELED', cause: signal.reason }, 'the rendezvous was aborted');
}

// ---------------------------------------------------------------------------
// A framed connection

/** A socket speaking frames; reports each decoded message, a protocol error, and the end. */
class Conn {
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

function errorFrame(err: MpError, maxFrameBytes: number): Buffer {
  return encodeFrame({ t: 'error', code: err.code, message: detailOf(err).slice(0, 4096) } satisfies Message, Math.max(maxFrameBytes, 8192));
}

// ---------------------------------------------------------------------------
// Sessions

interface Pending<T> {
  resolve(value: T): void;
  reject(err: MpError): void;
  timer: NodeJS.Timeout;
}

/** State and teardown both roles share: one pending operation, a failure that sticks, the abort signal. */
abstract class Session implements Rendezvous {
  readonly rank: number;
  readonly size: number;
  abstract readonly address: HostPort | undefined;
  protected readonly opts: Checked;
  protected pending: Pending<unknown[]> | undefined;
  protected failure: MpError | undefined;
  protected closing = false;
  /** Index of the next round. */
  protected roundNo = 0;
  #teardown: Promise<void> | undefined;
  #onAbort: (() => void) | undefined;
  #departure: DepartureListener | undefined;

  constructor(opts: Checked) {
    this.rank = opts.rank;
    this.size = opts.size;
    this.opts = opts;
    if (opts.signal !== undefined) {
      const signal = opts.signal;
      this.#onAbort = () => this.fail(aborted(signal));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  allgather(payload: unknown): Promise<unknown[]> {
    const value = jsonValue(payload, this.opts.maxFrameBytes);
    return this.round(value, Date.now() + this.opts.timeoutMs);
  }

  async barrier(): Promise<void> {
    await this.round(null, Date.now() + this.opts.timeoutMs);
  }

  onDeparture(listener: DepartureListener): void {
    if (typeof listener !== 'function') throw new TypeError('onDeparture: listener must be a function');
    this.#departure = listener;
  }

  /** Reports a rank's departure to the listener, unless this session is closing. */
  protected departed(rank: number, clean: boolean, detail: string): void {
    if (this.closing) return;
    this.#departure?.(rank, clean, detail);
  }

  close(): Promise<void> {
    this.closing = true;
    this.pending?.reject(new MpError({ code: 'ECLOSED' }, 'the rendezvous was closed during a round'));
    this.settle();
    return this.teardown();
  }

  /** Runs one round with `value` (already JSON-checked) until `deadline` (ms since the epoch). */
  round(value: unknown, deadline: number): Promise<unknown[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new MpError({ code: 'ECLOSED' }, 'the rendezvous is closed'));
    if (this.pending !== undefined) return Promise.reject(new MpError({ code: 'EINVAL' }, 'one rendezvous round at a time'));
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(this.timeoutError(deadline)), Math.max(0, deadline - Date.now()));
      this.pending = { resolve, reject, timer };
      try {
        this.start(value);
      } catch (err) {
        // E.g. a payload just under the bound whose frame is over it: this round never started.
        this.settle();
        reject(err as MpError);
      }
    });
  }

  /** Resolves the pending round with `table` and moves to the next round. */
  protected complete(table: unknown[]): void {
    const pending = this.pending;
    this.settle();
    this.roundNo++;
    pending?.resolve(table);
  }

  /** Fails the session for good: rejects the pending round, remembers `err`, closes everything. */
  fail(err: MpError): void {
    if (this.failure !== undefined || this.closing) return;
    this.failure = err;
    const pending = this.pending;
    this.settle();
    pending?.reject(err);
    void this.teardown();
  }

  private settle(): void {
    if (this.pending !== undefined) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  protected teardown(): Promise<void> {
    if (this.#teardown === undefined) {
      if (this.#onAbort !== undefined) this.opts.signal?.removeEventListener('abort', this.#onAbort);
      this.#teardown = this.release();
    }
    return this.#teardown;
  }

  /** Sends this rank's part of the current round. */
  protected abstract start(value: unknown): void;
  /** The error when the current round's deadline passes. */
  protected abstract timeoutError(deadline: number): MpError;
  /** Closes sockets and listener; resolves when they are closed. */
  protected abstract release(): Promise<void>;
}

/** Size 1: every round is this rank's own payload. */
class SoloSession extends Session {
  readonly address: HostPort | undefined;

  constructor(opts: Checked) {
    super(opts);
    this.address = opts.root;
  }

  protected start(value: unknown): void {
    this.complete([value]);
  }

  protected timeoutError(): MpError {
    return new MpError({ code: 'ETIMEDOUT' }, 'unreachable');
  }

  protected release(): Promise<void> {
    return Promise.resolve();
  }
}

/** Rank 0: the listener, the table of connected ranks and the current round's payloads. */
class RootSession extends Session {
  address: HostPort;
  #server: Server;
  /** Connections that have not introduced themselves yet. */
  #strays = new Set<Conn>();
  /** Accepted connection of each rank (index 0 unused). */
  #ranks: (Conn | undefined)[];
  /** Why a rank's connection ended, once it has. */
  #left = new Map<number, string>();
  /** Payloads of the current round by rank (clients may send before rank 0 joins). */
  #payloads = new Map<number, unknown>();
  #joined = false;
  /** Connections refused for not speaking the protocol, to explain a timeout. */
  #refused: string[] = [];
  #listening = false;

  constructor(opts: Checked) {
    super(opts);
    this.address = opts.root!;
    this.#ranks = new Array<Conn | undefined>(opts.size).fill(undefined);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /** Starts listening; rejects with `'ELAUNCH'` when the address cannot be bound. */
  listen(deadline: number): Promise<void> {
    const root = this.opts.root!;
    const host = this.opts.listenHost ?? root.host;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => onError(new Error('listen did not complete')), Math.max(0, deadline - Date.now()));
      const onError = (err: Error) => {
        clearTimeout(timer);
        this.#server.off('listening', onListening);
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          new MpError(
            { code: 'ELAUNCH', cause: err },
            `rank 0 cannot listen on ${formatHostPort({ host, port: root.port })} for the rendezvous (${code ?? err.message})` +
              (code === 'EADDRINUSE' ? ': another process holds the port; pick another port in RDMAJS_MP_ROOT' : '') +
              (code === 'EADDRNOTAVAIL' ? `: ${host} is not an address of this host, and rank 0 must run where the root address points` : ''),
          ),
        );
      };
      const onListening = () => {
        clearTimeout(timer);
        this.#server.off('error', onError);
        this.#listening = true;
        const bound = this.#server.address();
        if (bound !== null && typeof bound === 'object') this.address = { host: root.host, port: bound.port };
        resolve();
      };
      this.#server.once('error', onError);
      this.#server.once('listening', onListening);
      this.#server.listen({ host, port: root.port });
    });
  }

  #accept(socket: Socket): void {
    if (this.failure !== undefined || this.closing) {
      socket.destroy();
      return;
    }
    const conn = new Conn(
      socket,
      this.opts.maxFrameBytes,
      (c, msg) => this.#onMessage(c, msg),
      (c, err) => this.#onBadFrame(c, err),
      (c) => this.#onGone(c),
    );
    this.#strays.add(conn);
  }

  #send(conn: Conn, msg: Message): void {
    conn.send(encodeFrame(msg));
  }

  /** Tells `conn` why it is refused and drops it, without failing the job (it is not a rank of it). */
  #refuse(conn: Conn, why: string): void {
    this.#refused.push(`${conn.remote}: ${why}`);
    this.#strays.delete(conn);
    void conn.end(errorFrame(new MpError({ code: 'EPROTO' }, `the rendezvous root ${formatHostPort(this.address)} refused the connection: ${why}`), this.opts.maxFrameBytes));
  }

  /** A job-level error caused by `conn`: it hears `toClient`, then everyone hears `err`. */
  #failBecause(conn: Conn, err: MpError, toClient: string): void {
    void conn.end(errorFrame(new MpError({ code: err.code }, toClient), this.opts.maxFrameBytes));
    this.fail(err);
  }

  #onMessage(conn: Conn, raw: unknown): void {
    if (this.failure !== undefined || this.closing) return;
    if (!isObject(raw) || typeof raw.t !== 'string') {
      if (conn.rank === undefined) this.#refuse(conn, 'a frame without a message type');
      else this.#failBecause(conn, new MpError({ code: 'EPROTO', peer: conn.rank }, `rank ${conn.rank} sent a frame without a message type`), 'a frame without a message type');
      return;
    }
    if (conn.rank === undefined) this.#onHello(conn, raw);
    else this.#onRankMessage(conn, conn.rank, raw);
  }

  #onHello(conn: Conn, msg: Record<string, unknown>): void {
    if (msg.t !== 'hello') return this.#refuse(conn, `expected a hello, got '${String(msg.t)}'`);
    if (msg.proto !== PROTOCOL) return this.#refuse(conn, `protocol ${JSON.stringify(msg.proto)}, this root speaks ${PROTOCOL}`);
    const { rank, size } = msg;
    if (typeof rank !== 'number' || typeof size !== 'number' || !Number.isSafeInteger(rank) || !Number.isSafeInteger(size)) {
      return this.#refuse(conn, 'a hello without an integer rank and size');
    }
    const addr = formatHostPort(this.address);
    if (size !== this.size) {
      return this.#failBecause(
        conn,
        new MpError({ code: 'EINVAL', peer: rank }, `rank ${rank} (from ${conn.remote}) was started with size ${size}, rank 0 with size ${this.size}`),
        `this rank was started with size ${size}, but rank 0 at ${addr} with size ${this.size}`,
      );
    }
    if (rank < 1 || rank >= this.size) {
      return this.#failBecause(
        conn,
        new MpError({ code: 'EINVAL', peer: rank }, `a process from ${conn.remote} says it is rank ${rank}; ranks 1..${this.size - 1} connect to rank 0`),
        `rank ${rank} is not one of the ranks 1..${this.size - 1} that connect to rank 0 at ${addr}`,
      );
    }
    const earlier = this.#ranks[rank];
    if (earlier !== undefined) {
      return this.#failBecause(
        conn,
        new MpError({ code: 'EINVAL', peer: rank }, `rank ${rank} connected twice (from ${earlier.remote} and from ${conn.remote}): duplicate rank`),
        `rank ${rank} is already connected to ${addr} (from ${earlier.remote}): duplicate rank`,
      );
    }
    this.#strays.delete(conn);
    conn.rank = rank;
    this.#ranks[rank] = conn;
    this.#send(conn, { t: 'welcome', size: this.size });
  }

  #onRankMessage(conn: Conn, rank: number, msg: Record<string, unknown>): void {
    if (msg.t === 'bye') {
      conn.bye = true;
      return;
    }
    if (msg.t === 'round') {
      if (msg.round !== this.roundNo || this.#payloads.has(rank)) {
        const why = `rank ${rank} sent a payload for round ${String(msg.round)} while rank 0 collects round ${this.roundNo}${this.#payloads.has(rank) ? ' (it already sent one)' : ''}`;
        return this.#failBecause(conn, new MpError({ code: 'EPROTO', peer: rank }, why), why);
      }
      this.#payloads.set(rank, msg.payload ?? null);
      this.#check();
      return;
    }
    const why = `rank ${rank} sent an unexpected '${String(msg.t)}' message`;
    this.#failBecause(conn, new MpError({ code: 'EPROTO', peer: rank }, why), why);
  }

  #onBadFrame(conn: Conn, err: MpError): void {
    if (conn.rank === undefined) return this.#refuse(conn, detailOf(err));
    this.#failBecause(conn, new MpError({ code: 'EPROTO', peer: conn.rank, cause: err }, `rank ${conn.rank} (from ${conn.remote}) sent garbage: ${detailOf(err)}`), detailOf(err));
  }

  #onGone(conn: Conn): void {
    this.#strays.delete(conn);
    const rank = conn.rank;
    if (rank === undefined || this.#ranks[rank] !== conn) return;
    const why = conn.bye ? 'closed its rendezvous session' : `disconnected (connection from ${conn.remote} closed)`;
    this.#left.set(rank, why);
    if (this.failure === undefined && !this.closing) {
      const frame = encodeFrame({ t: 'gone', rank, clean: conn.bye, why } satisfies Message);
      for (const c of this.#ranks) if (c !== undefined && c !== conn) c.send(frame);
      this.departed(rank, conn.bye, `rank ${rank} ${why}`);
    }
    this.#check();
  }

  protected start(value: unknown): void {
    this.#payloads.set(0, value);
    this.#joined = true;
    this.#check();
  }

  /** Completes the round when everyone is in; fails it when someone it still needs has left. */
  #check(): void {
    if (this.pending === undefined || !this.#joined) return;
    for (const [rank, why] of this.#left) {
      if (!this.#payloads.has(rank)) {
        return this.fail(new MpError({ code: 'EPEERDEAD', peer: rank }, `rank ${rank} ${why} before joining rendezvous round ${this.roundNo}`));
      }
    }
    if (this.#payloads.size < this.size) return;
    const table = Array.from({ length: this.size }, (_, r) => this.#payloads.get(r));
    let frame: Buffer;
    try {
      frame = encodeFrame({ t: 'table', round: this.roundNo, payloads: table } satisfies Message, this.opts.maxFrameBytes);
    } catch (err) {
      return this.fail(new MpError({ code: 'EINVAL', cause: err }, `rendezvous round ${this.roundNo}: ${(err as Error).message}; raise maxFrameBytes or send less`));
    }
    for (const conn of this.#ranks) if (conn !== undefined) conn.send(frame);
    this.#payloads.clear();
    this.#joined = false;
    this.complete(table);
  }

  protected timeoutError(): MpError {
    const addr = formatHostPort(this.address);
    const never: number[] = [];
    const idle: number[] = [];
    for (let r = 1; r < this.size; r++) {
      if (this.#ranks[r] === undefined) never.push(r);
      else if (!this.#payloads.has(r)) idle.push(r);
    }
    const within = `within ${seconds(this.opts.timeoutMs)}`;
    const parts: string[] = [];
    if (never.length > 0) parts.push(`${formatRanks(never)} never connected to ${addr} ${within}`);
    if (idle.length > 0) parts.push(`${formatRanks(idle)} connected to ${addr} but did not join round ${this.roundNo} ${within}`);
    let detail = parts.join('; ');
    if (this.#refused.length > 0) detail += ` (refused ${this.#refused.length} other connection(s): ${this.#refused.slice(0, 3).join('; ')})`;
    return new MpError({ code: 'ETIMEDOUT' }, detail);
  }

  protected async release(): Promise<void> {
    const conns = [...this.#strays, ...this.#ranks.filter((c): c is Conn => c !== undefined)];
    // A bye tells the ranks rank 0 leaves on purpose (it may finish first), not that it died.
    const last = this.failure === undefined ? encodeFrame({ t: 'bye' } satisfies Message) : errorFrame(this.failure, this.opts.maxFrameBytes);
    const closed = this.#listening ? new Promise<void>((resolve) => this.#server.close(() => resolve())) : Promise.resolve();
    await Promise.all(conns.map((c) => c.end(last)));
    await closed;
  }
}

/** Ranks 1..size-1: one connection to rank 0. */
class ClientSession extends Session {
  readonly address: HostPort;
  #conn: Conn | undefined;
  #welcomed: Pending<unknown[]> | undefined;
  #rootBye = false;

  constructor(opts: Checked) {
    super(opts);
    this.address = opts.root!;
  }

  get #root(): string {
    return formatHostPort(this.address);
  }

  /** Connects (retrying until `deadline`), says hello and waits for the welcome. */
  async connect(deadline: number): Promise<void> {
    const socket = await connectWithRetry(this.address, this.rank, deadline, this.opts);
    if (this.failure !== undefined) {
      socket.destroy();
      throw this.failure;
    }
    this.#conn = new Conn(
      socket,
      this.opts.maxFrameBytes,
      (_, msg) => this.#onMessage(msg),
      (_, err) => this.fail(new MpError({ code: 'EPROTO', cause: err }, `the rendezvous root ${this.#root} sent garbage: ${detailOf(err)}`)),
      (_, err) => this.#onGone(err),
    );
    // The welcome rides the same pending/timeout/failure machinery as a round.
    await new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new MpError({ code: 'ETIMEDOUT' }, `rank ${this.rank} connected to the rendezvous root ${this.#root} but got no answer within ${seconds(this.opts.timeoutMs)}`)),
        Math.max(0, deadline - Date.now()),
      );
      this.pending = this.#welcomed = { resolve, reject, timer };
      this.#conn!.send(encodeFrame({ t: 'hello', proto: PROTOCOL, rank: this.rank, size: this.size } satisfies Message, this.opts.maxFrameBytes));
    });
  }

  #onMessage(raw: unknown): void {
    if (this.failure !== undefined || this.closing) return;
    if (!isObject(raw)) return this.fail(new MpError({ code: 'EPROTO' }, `the rendezvous root ${this.#root} sent a frame that is not an object`));
    if (raw.t === 'error') {
      const code = typeof raw.code === 'string' && CODES.has(raw.code) ? (raw.code as MpErrorCode) : 'EPROTO';
      return this.fail(new MpError({ code }, `rendezvous root ${this.#root}: ${String(raw.message)}`));
    }
    if (raw.t === 'gone') {
      if (typeof raw.rank === 'number') this.departed(raw.rank, raw.clean === true, `rank ${raw.rank} ${String(raw.why)}`);
      return;
    }
    if (raw.t === 'bye') {
      this.#rootBye = true;
      return;
    }
    if (raw.t === 'welcome' && this.pending !== undefined && this.pending === this.#welcomed) {
      if (raw.size !== this.size) return this.fail(new MpError({ code: 'EINVAL' }, `the rendezvous root ${this.#root} has size ${String(raw.size)}, this rank ${this.size}`));
      this.#welcomed = undefined;
      const pending = this.pending;
      clearTimeout(pending.timer);
      this.pending = undefined;
      pending.resolve([]);
      return;
    }
    if (raw.t === 'table' && this.pending !== undefined && this.#welcomed === undefined) {
      if (raw.round !== this.roundNo || !Array.isArray(raw.payloads) || raw.payloads.length !== this.size) {
        return this.fail(new MpError({ code: 'EPROTO' }, `the rendezvous root ${this.#root} answered round ${this.roundNo} with a malformed table`));
      }
      return this.complete(raw.payloads as unknown[]);
    }
    this.fail(new MpError({ code: 'EPROTO' }, `the rendezvous root ${this.#root} sent an unexpected '${String(raw.t)}' message`));
  }

  #onGone(err: Error | undefined): void {
    const why = err === undefined ? 'closed the connection' : `reset the connection (${(err as NodeJS.ErrnoException).code ?? err.message})`;
    this.departed(0, this.#rootBye, this.#rootBye ? 'rank 0 closed its rendezvous session' : `rank 0 (the rendezvous root ${this.#root}) ${why}`);
    this.fail(new MpError({ code: 'EPEERDEAD', peer: 0, cause: err }, `the rendezvous root ${this.#root} (rank 0) ${why}`));
  }

  protected start(value: unknown): void {
    this.#conn!.send(encodeFrame({ t: 'round', round: this.roundNo, payload: value } satisfies Message, this.opts.maxFrameBytes));
  }

  protected timeoutError(): MpError {
    return new MpError(
      { code: 'ETIMEDOUT' },
      `rank ${this.rank}: the rendezvous root ${this.#root} did not answer round ${this.roundNo} within ${seconds(this.opts.timeoutMs)} (other ranks are missing; rank 0's error names them)`,
    );
  }

  protected async release(): Promise<void> {
    const conn = this.#conn;
    if (conn === undefined) return;
    // A bye tells rank 0 this rank leaves on purpose, not that it died.
    await conn.end(this.failure === undefined ? encodeFrame({ t: 'bye' } satisfies Message) : undefined);
  }
}

async function openChecked(opts: Checked, deadline: number): Promise<Session> {
  if (opts.signal?.aborted) throw aborted(opts.signal);
  if (opts.size === 1) return new SoloSession(opts);
  if (opts.rank === 0) {
    const root = new RootSession(opts);
    try {
      await root.listen(deadline);
    } catch (err) {
      await root.close();
      throw err;
    }
    if (opts.signal?.aborted) {
      await root.close();
      throw aborted(opts.signal);
    }
    return root;
  }
  const client = new ClientSession(opts);
  try {
    await client.connect(deadline);
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

/** Connects to `root`, retrying every failure with capped, jittered backoff until `deadline`. */
async function connectWithRetry(root: HostPort, rank: number, deadline: number, opts: Pick<Checked, 'signal' | 'timeoutMs'>): Promise<Socket> {
  const { signal } = opts;
  let delay = RETRY_FIRST_MS;
  let attempts = 0;
  let last = 'no attempt';
  for (;;) {
    if (signal?.aborted) throw aborted(signal);
    attempts++;
    try {
      return await connectOnce(root, deadline, signal);
    } catch (err) {
      if (err instanceof MpError) throw err;
      last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
    const wait = delay * (0.75 + Math.random() * 0.5);
    if (Date.now() + wait >= deadline) {
      throw new MpError(
        { code: 'ETIMEDOUT' },
        `rank ${rank} could not connect to the rendezvous root ${formatHostPort(root)} within ${seconds(opts.timeoutMs)} ` +
          `(${attempts} attempt(s), last: ${last}); is rank 0 running, and is that its address?`,
      );
    }
    await sleep(wait, signal);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}

/** One connection attempt, abandoned at `deadline` or abort; rejects with the socket error (or MpError for abort). */
function connectOnce(root: HostPort, deadline: number, signal: AbortSignal | undefined): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: root.host, port: root.port });
    const done = (err?: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (err === undefined) return resolve(socket);
      socket.destroy();
      reject(err);
    };
    const onConnect = () => done();
    const onError = (err: Error) => done(err);
    const onAbort = () => done(aborted(signal!));
    const timer = setTimeout(() => done(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), Math.max(0, deadline - Date.now()));
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
