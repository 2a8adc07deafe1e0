/**
 * The side of ranks 1..size-1: connects to rank 0 (retrying with capped,
 * jittered backoff, since rank 0 may start last), says hello, sends its part
 * of each round and takes the table back. Rank 0's `gone` messages and the
 * end of its own connection are the departures this side reports.
 * @module
 */
import { connect, type Socket } from 'node:net';

import { MpError, type MpErrorCode } from '../errors.js';
import type { HostPort } from '../types.js';
import { formatHostPort, seconds } from './format.js';
import { encodeFrame } from './frame.js';
import { Conn } from './frame-conn.js';
import type { Checked } from './rendezvous-options.js';
import { CODES, PROTOCOL, aborted, detailOf, isObject, type Message } from './rendezvous-protocol.js';
import { Session, type Pending } from './session.js';

/** Connect retry backoff: first delay, cap. */
const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 1_000;

/** Ranks 1..size-1: one connection to rank 0. */
export class ClientSession extends Session {
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
