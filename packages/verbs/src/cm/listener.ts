/**
 * Listening for rdma_cm connections: {@link listen} binds an id and queues
 * the requests that arrive on it for {@link Listener.next} and `for await`.
 * @module
 */
import { MAX_TIMER_MS, int, obj, oneOf, optInt } from '../check.js';
import { rdmaError } from '../errors.js';
import type { NativeCmEvent, NativeCmId } from '../native.js';
import { CM_TYPES, createId, owners, ref, type EventSink } from './channel.js';
import { numericHost } from './lookup.js';
import { ConnectionRequest } from './request.js';
import type { CmAddress, CmType, ListenOptions, NextOptions } from './types.js';

/**
 * Listens for connections. Iterate it (`for await (const req of listener)`)
 * or call {@link Listener.next}; {@link Listener.close} ends the iteration.
 */
export class Listener<T extends CmType = 'RC'> implements AsyncIterable<ConnectionRequest<T>>, EventSink {
  /** What its requests' accept makes. */
  readonly type: T;
  #id: NativeCmId;
  #queue: Array<ConnectionRequest<T>> = [];
  #waiters: Array<(r: ConnectionRequest<T> | undefined) => void> = [];
  #closed = false;
  #refed = true;

  /** @internal */
  constructor(id: NativeCmId, type: T) {
    this.#id = id;
    this.type = type;
    owners.set(id, this);
    ref(1);
  }

  /** While listening, keep the process alive (the default). */
  ref(): this {
    if (!this.#refed && !this.#closed) ref(1);
    this.#refed = true;
    return this;
  }

  /** Do not keep the process alive just for this listener. */
  unref(): this {
    if (this.#refed && !this.#closed) ref(-1);
    this.#refed = false;
    return this;
  }

  /** The bound address (with the actual port when listening on port 0). */
  address(): CmAddress | null {
    return this.#id.localAddress;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal */
  onEvent(event: NativeCmEvent, id: NativeCmId): void {
    if (event.type !== 'CONNECT_REQUEST') return;
    const req = new ConnectionRequest(id, event.privateData, this.type);
    const w = this.#waiters.shift();
    if (w) w(req);
    else this.#queue.push(req);
  }

  /**
   * The next connection request, or undefined once closed. With
   * `timeoutMs`, rejects with ETIMEDOUT when none arrives in time (the
   * listener stays open).
   */
  next(options: NextOptions = {}): Promise<ConnectionRequest<T> | undefined> {
    const m = 'Listener.next';
    let timeoutMs: number | undefined;
    try {
      obj(m, 'options', options);
      if (options.timeoutMs !== undefined) timeoutMs = int(m, 'timeoutMs', options.timeoutMs, 0, MAX_TIMER_MS);
    } catch (err) {
      return Promise.reject(err);
    }
    const queued = this.#queue.shift();
    if (queued || this.#closed) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (r: ConnectionRequest<T> | undefined) => {
        clearTimeout(timer);
        resolve(r);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(rdmaError(m, 'ETIMEDOUT', `no connection request within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  /** Yields each connection request as it arrives; ends after {@link close}. */
  async *[Symbol.asyncIterator](): AsyncIterator<ConnectionRequest<T>> {
    for (;;) {
      const req = await this.next();
      if (!req) return;
      yield req;
    }
  }

  /** Stops listening; queued requests are rejected and iteration ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#refed) ref(-1);
    owners.delete(this.#id);
    this.#id.close();
    for (const r of this.#queue.splice(0)) {
      try {
        r.reject();
      } catch {
        /* the peer is gone already */
      }
    }
    this.#waiters.splice(0).forEach((w) => w(undefined));
  }
}

/**
 * Starts listening on `host:port` (RC by default; `type: 'UD'` for UD).
 * Rejects with an {@link RdmaError} from `rdma_bind_addr`: `EADDRINUSE` if
 * the port is taken, another code when `host` is not an address of an RDMA device.
 */
export function listen(options: ListenOptions & { type: 'UD' }): Promise<Listener<'UD'>>;
export function listen(options: ListenOptions & { type?: 'RC' }): Promise<Listener<'RC'>>;
export function listen(options: ListenOptions): Promise<Listener<'RC'> | Listener<'UD'>>;
export async function listen(options: ListenOptions): Promise<Listener<'RC'> | Listener<'UD'>> {
  const m = 'rdma_listen';
  obj(m, 'options', options);
  const type = oneOf(m, 'type', options.type, CM_TYPES, 'RC');
  const port = int(m, 'port', options.port, 0, 65535);
  const backlog = optInt(m, 'backlog', options.backlog, 64, 0, 0x7fff_ffff);
  const host = await numericHost(m, 'host', options.host ?? '0.0.0.0');
  const id = createId(type);
  try {
    id.bindAddr(host, port);
    id.listen(backlog);
  } catch (err) {
    id.close();
    throw err;
  }
  return type === 'UD' ? new Listener(id, 'UD') : new Listener(id, 'RC');
}
