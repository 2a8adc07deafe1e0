/**
 * Rank 0's side of the rendezvous: listens at the root address, accepts
 * ranks (checking protocol, rank and size, refusing strays without failing
 * the job), collects each round's payloads and answers everyone with the
 * table. It is also the job's failure detector: when a rank's connection
 * ends it tells every other rank (`gone`), and fails a round that still
 * needs that rank; a job-level error goes to every connected rank, so
 * nobody waits for a timeout rank 0 already knows will come.
 * @module
 */
import { createServer, type Server, type Socket } from 'node:net';

import { MpError } from '../errors.js';
import type { HostPort } from '../types.js';
import { formatHostPort, formatRanks, seconds } from './format.js';
import { encodeFrame } from './frame.js';
import { Conn } from './frame-conn.js';
import type { Checked } from './rendezvous-options.js';
import { PROTOCOL, detailOf, errorFrame, isObject, type Message } from './rendezvous-protocol.js';
import { Session } from './session.js';

/** Rank 0: the listener, the table of connected ranks and the current round's payloads. */
export class RootSession extends Session {
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
