/**
 * The control connection between client and server: newline-delimited JSON
 * over one TCP socket (perftest's "Ethernet" exchange). It carries the run
 * parameters, each side's `qp.endpoint()` and `mr.remote()`, the barriers
 * before each phase, and the client's results. Never used while measuring.
 * @module
 */
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import type { RemoteBuffer } from '@rdmajs/verbs';

/** One message: a plain JSON object with a `type`. */
export interface Message {
  type: string;
  [key: string]: unknown;
}

/** A remote buffer as it travels in JSON (the address as a decimal string). */
export interface WireRemote {
  address: string;
  rkey: number;
  length: number;
}

export function toWire(r: RemoteBuffer): WireRemote {
  return { address: r.address.toString(), rkey: r.rkey, length: r.length };
}

export function fromWire(value: unknown): RemoteBuffer {
  const r = value as Partial<WireRemote> | null;
  if (typeof r !== 'object' || r === null || typeof r.address !== 'string' || !/^\d+$/.test(r.address)) {
    throw new Error('peer sent a bad remote buffer');
  }
  if (!Number.isInteger(r.rkey) || !Number.isInteger(r.length)) throw new Error('peer sent a bad remote buffer');
  return { address: BigInt(r.address), rkey: r.rkey!, length: r.length! };
}

/** A message-oriented control connection. */
export class Control {
  #socket: Socket;
  #buffered = '';
  #queue: Message[] = [];
  #waiting: { resolve(m: Message): void; reject(e: Error): void } | null = null;
  #failure: Error | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('the peer closed the control connection')));
  }

  /** Server: waits for one client on `port` (all interfaces), then stops listening. */
  static accept(port: number): Promise<Control> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true });
      server.once('error', reject);
      server.once('connection', (socket) => {
        server.close();
        resolve(new Control(socket));
      });
      server.listen(port);
    });
  }

  /** Client: connects, retrying while the server is not up yet (it may still be starting). */
  static async connect(host: string, port: number, timeoutS: number): Promise<Control> {
    const until = Date.now() + timeoutS * 1000;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = tcpConnect({ host, port, noDelay: true });
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        return new Control(socket);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code !== 'ECONNREFUSED' && code !== 'ECONNRESET' && code !== 'EHOSTUNREACH') || Date.now() > until) throw err;
        await sleep(200);
      }
    }
  }

  /** Sends one message. */
  send(message: Message): void {
    this.#socket.write(JSON.stringify(message) + '\n');
  }

  /** The next message; rejects if the connection fails or the peer reports an error. */
  next(): Promise<Message> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve(this.#check(m));
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = {
        resolve: (msg) => {
          try {
            resolve(this.#check(msg));
          } catch (err) {
            reject(err as Error);
          }
        },
        reject,
      };
    });
  }

  /** The next message, which must be of type `type`. */
  async expect(type: string): Promise<Message> {
    const m = await this.next();
    if (m.type !== type) throw new Error(`protocol: expected '${type}' from the peer, got '${m.type}'`);
    return m;
  }

  /**
   * Both sides wait for each other: the client announces `tag`, the server
   * answers once it is ready too. After this the data path may start.
   */
  async barrier(tag: string, role: 'client' | 'server'): Promise<void> {
    if (role === 'client') {
      this.send({ type: 'barrier', tag });
      const m = await this.expect('barrier');
      if (m.tag !== tag) throw new Error(`protocol: barrier '${tag}' met '${String(m.tag)}'`);
    } else {
      const m = await this.expect('barrier');
      if (m.tag !== tag) throw new Error(`protocol: barrier '${tag}' met '${String(m.tag)}'`);
      this.send({ type: 'barrier', tag });
    }
  }

  /** Tells the peer this side failed (it then fails too instead of hanging). */
  abort(message: string): void {
    if (!this.#socket.destroyed) this.#socket.write(JSON.stringify({ type: 'error', message }) + '\n');
  }

  /** Ends the connection after pending writes. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#socket.removeAllListeners('close');
      if (this.#socket.destroyed) return resolve();
      this.#socket.end(() => resolve());
      this.#socket.destroySoon();
    });
  }

  #check(m: Message): Message {
    if (m.type === 'error') throw new Error(`the peer failed: ${String(m.message)}`);
    return m;
  }

  #onData(chunk: string): void {
    this.#buffered += chunk;
    let nl: number;
    while ((nl = this.#buffered.indexOf('\n')) >= 0) {
      const line = this.#buffered.slice(0, nl);
      this.#buffered = this.#buffered.slice(nl + 1);
      let m: Message;
      try {
        m = JSON.parse(line) as Message;
        if (typeof m !== 'object' || m === null || typeof m.type !== 'string') throw new Error('no type');
      } catch {
        this.#fail(new Error(`protocol: bad control message ${JSON.stringify(line.slice(0, 80))}`));
        return;
      }
      if (this.#waiting) {
        const w = this.#waiting;
        this.#waiting = null;
        w.resolve(m);
      } else {
        this.#queue.push(m);
      }
    }
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = null;
      w.reject(this.#failure);
    }
  }
}
