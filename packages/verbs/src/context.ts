/**
 * {@link Context}: an open device. Everything else (protection domains,
 * completion channels and queues, queue pairs) hangs below it; closing the
 * context closes all of them, children first. A context is also an
 * `EventEmitter` of the device's async events (`'event'`, see
 * {@link AsyncEvent}). Its factories (`allocPd()`, `createCq()`...) are
 * added by the files of what they create (see resource.ts).
 * @module
 */
import { EventEmitter } from 'node:events';

import { int } from './check.js';
import { rdmaError } from './errors.js';
import { refEvents, watchEvents, type AsyncEvent, type ContextEventMap } from './events.js';
import { formatGid } from './gid.js';
import type { NativeContext } from './native.js';
import type { DeviceAttributes, GidEntry, PortAttributes } from './types/device.js';

let handleOf: (ctx: Context) => NativeContext;

/**
 * An open RDMA device (`ibv_context`).
 *
 * It emits `'event'` with an {@link AsyncEvent} for each async event of the
 * device (QP errors, port up/down, CQ overflow, SRQ limit...), read from the
 * device on the event loop:
 *
 * ```ts
 * ctx.on('event', (ev) => {
 *   if (ev.qpNum === qp.qpn) console.warn(`QP ${ev.qpNum}: ${ev.type}`);
 * });
 * const [ev] = await once(ctx, 'event');   // node:events once()
 * ```
 *
 * Listening does not keep the process alive (see {@link Context.ref}); no
 * event is emitted after {@link Context.close}; the context never emits
 * `'error'`, and a listener that throws surfaces as an uncaught exception.
 */
export class Context extends EventEmitter<ContextEventMap> {
  readonly #native: NativeContext;
  /** The device name, e.g. `'rxe0'`. */
  readonly name: string;

  static {
    handleOf = (ctx) => ctx.#native;
  }

  /** @internal Use {@link openDevice}. */
  constructor(handle: NativeContext) {
    super();
    this.#native = handle;
    this.name = handle.name;
    watchEvents(handle, this);
  }

  /**
   * Makes the async-event watcher keep the process alive, even with nothing
   * else to do (e.g. a daemon that only watches ports). Not the default:
   * events are about work that something else (a pending completion wait, a
   * socket, a timer) already keeps alive, and a process that is done must
   * exit without closing every context. Harmless once closed.
   */
  ref(): this {
    refEvents(this.#native, true);
    return this;
  }

  /** Undoes {@link Context.ref}: the watcher no longer keeps the process alive (the default). */
  unref(): this {
    refEvents(this.#native, false);
    return this;
  }

  /** True once closed (explicitly or through teardown). */
  get closed(): boolean {
    return this.#native.closed;
  }

  /** Device capabilities (`ibv_query_device`). */
  queryDevice(): DeviceAttributes {
    return this.#native.queryDevice() as unknown as DeviceAttributes;
  }

  /**
   * Attributes of port `port` (1-based; `ibv_query_port`).
   * @throws RangeError when `port` is not in [1, 255]; {@link RdmaError} when the port does not exist.
   */
  queryPort(port = 1): PortAttributes {
    return this.#native.queryPort(int('ibv_query_port', 'port', port, 1, 255)) as unknown as PortAttributes;
  }

  /** The valid GID entries of one port, or of all ports. */
  gidTable(port?: number): GidEntry[] {
    const p = port === undefined ? undefined : int('ibv_query_gid_table', 'port', port, 1, 255);
    return this.#native.queryGidTable(p).map((e) => {
      const raw = e.gid as Buffer;
      return { ...(e as unknown as GidEntry), raw, gid: formatGid(raw) };
    });
  }

  /**
   * The GID to address this port by: the RoCE v2 IPv4 entry on Ethernet
   * (chosen by type, not by index), else RoCE v2, else the first entry.
   */
  defaultGid(port = 1): GidEntry {
    const table = this.gidTable(port);
    const pick =
      table.find((e) => e.type === 'ROCE_V2' && e.ip !== null && !e.ip.includes(':')) ??
      table.find((e) => e.type === 'ROCE_V2') ??
      table[0];
    if (!pick) throw rdmaError('ibv_query_gid_table', 'ENODEV', `${this.name} port ${port} has no valid GID`);
    return pick;
  }

  /**
   * Closes the device and, first, everything created under it. Harmless when
   * already closed. Events not yet emitted are dropped, listeners stay.
   */
  close(): void {
    this.#native.close();
  }

  /** Same as {@link close}, for `using ctx = openDevice()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** @internal The native context behind `ctx`. */
export function contextHandle(ctx: Context): NativeContext {
  return handleOf(ctx);
}
