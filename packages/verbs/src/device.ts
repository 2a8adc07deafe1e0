/**
 * Devices: list them, open one, ask what it can do.
 *
 * A {@link Context} is an open device. Everything else (protection domains,
 * completion queues, queue pairs) hangs below it; closing the context closes
 * all of them, children first. A context is also an `EventEmitter` of the
 * device's async events (`'event'`, see {@link AsyncEvent}).
 * @module
 */
import { EventEmitter } from 'node:events';

import { assertOpen, int, obj, optInt } from './check.js';
import { CompletionChannel, CompletionQueue, abortClosedWaiters } from './cq.js';
import { debuglog } from './debug.js';
import { rdmaError } from './errors.js';
import { refEvents, watchEvents, type AsyncEvent, type ContextEventMap } from './events.js';
import { formatGid } from './gid.js';
import { native, type NativeContext } from './native.js';
import { ProtectionDomain } from './pd.js';

/** A device as listed by {@link listDevices}. */
export interface DeviceInfo {
  /** Kernel name, e.g. `'rxe0'`, `'mlx5_0'`. */
  name: string;
  /** Node GUID. */
  guid: bigint;
  nodeType: 'CA' | 'SWITCH' | 'ROUTER' | 'RNIC' | 'USNIC' | 'USNIC_UDP' | 'UNSPECIFIED' | 'UNKNOWN';
  transport: 'IB' | 'IWARP' | 'USNIC' | 'USNIC_UDP' | 'UNSPECIFIED' | 'UNKNOWN';
}

/** Device capabilities (`ibv_query_device`), camelCased. */
export interface DeviceAttributes {
  fwVer: string;
  nodeGuid: bigint;
  sysImageGuid: bigint;
  maxMrSize: bigint;
  pageSizeCap: bigint;
  vendorId: number;
  vendorPartId: number;
  hwVer: number;
  maxQp: number;
  maxQpWr: number;
  deviceCapFlags: number;
  maxSge: number;
  maxSgeRd: number;
  maxCq: number;
  maxCqe: number;
  maxMr: number;
  maxPd: number;
  maxQpRdAtom: number;
  maxQpInitRdAtom: number;
  maxResRdAtom: number;
  atomicCap: 'NONE' | 'HCA' | 'GLOB';
  maxMw: number;
  maxAh: number;
  maxSrq: number;
  maxSrqWr: number;
  maxSrqSge: number;
  maxPkeys: number;
  physPortCnt: number;
}

/** Port attributes (`ibv_query_port`); MTUs in bytes. */
export interface PortAttributes {
  state: 'NOP' | 'DOWN' | 'INIT' | 'ARMED' | 'ACTIVE' | 'ACTIVE_DEFER' | 'UNKNOWN';
  maxMtu: number;
  activeMtu: number;
  gidTblLen: number;
  portCapFlags: number;
  maxMsgSz: number;
  pkeyTblLen: number;
  lid: number;
  smLid: number;
  lmc: number;
  maxVlNum: number;
  smSl: number;
  activeWidth: number;
  activeSpeed: number;
  physState: number;
  /** `'ETHERNET'` for RoCE (including SoftRoCE), `'INFINIBAND'` for IB. */
  linkLayer: 'INFINIBAND' | 'ETHERNET' | 'UNSPECIFIED';
}

/** GID type: InfiniBand, RoCE v1 (Ethernet L2) or RoCE v2 (UDP/IP, routable). */
export type GidType = 'IB' | 'ROCE_V1' | 'ROCE_V2' | 'UNKNOWN';

/** One valid entry of a port's GID table. */
export interface GidEntry {
  port: number;
  index: number;
  /** The GID in eight-group text form (see {@link formatGid}). */
  gid: string;
  /** The raw 16 bytes. */
  raw: Buffer;
  type: GidType;
  /** The network interface behind a RoCE GID, e.g. `'eth0'`; null for IB. */
  netdev: string | null;
  /** The IP address a RoCE GID encodes (IPv4 when v4-mapped); null for IB. */
  ip: string | null;
}

const debug = debuglog('verbs');

/** Lists the RDMA devices of this host; empty when there is none (or no kernel support). */
export function listDevices(): DeviceInfo[] {
  return native.Context.listDevices() as unknown as DeviceInfo[];
}

/**
 * Opens a device by name. Without a name: `$RDMAJS_DEVICE` if set, otherwise
 * the first device with an `ACTIVE` port. Throws ENODEV when there is none.
 */
export function openDevice(name?: string): Context {
  if (name !== undefined && typeof name !== 'string') throw new TypeError('openDevice: name must be a string');
  const wanted = name ?? process.env.RDMAJS_DEVICE;
  if (wanted) {
    debug(`opening ${wanted}${name === undefined ? ' (RDMAJS_DEVICE)' : ''}`);
    return new Context(new native.Context(wanted));
  }
  const devices = listDevices();
  if (devices.length === 0) {
    throw rdmaError('ibv_get_device_list', 'ENODEV', 'no RDMA device on this host (try `npx rdmajs-testbed auto -- <cmd>`)');
  }
  for (const d of devices) {
    const ctx = new Context(new native.Context(d.name));
    const ports = ctx.queryDevice().physPortCnt;
    for (let p = 1; p <= ports; p++) {
      if (ctx.queryPort(p).state === 'ACTIVE') {
        debug(`opened ${d.name}: the first device with an ACTIVE port (${p})`);
        return ctx;
      }
    }
    debug(`skipping ${d.name}: no ACTIVE port`);
    ctx.close();
  }
  throw rdmaError('ibv_open_device', 'ENODEV', `no device has an ACTIVE port (${devices.map((d) => d.name).join(', ')})`);
}

/** Options of {@link Context.createCq}. */
export interface CqOptions {
  /** Minimum number of completions the queue holds (the device may round up). Default 256. */
  entries?: number;
  /** Channel for event-driven completion; without one the CQ can only be polled. */
  channel?: CompletionChannel;
  /** Completion vector (interrupt) to use. Default 0. */
  compVector?: number;
}

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
export class Context extends EventEmitter<ContextEventMap> implements Disposable {
  /** @internal */ readonly _native: NativeContext;
  /** The device name, e.g. `'rxe0'`. */
  readonly name: string;

  /** @internal Use {@link openDevice}. */
  constructor(handle: NativeContext) {
    super();
    this._native = handle;
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
    refEvents(this._native, true);
    return this;
  }

  /** Undoes {@link Context.ref}: the watcher no longer keeps the process alive (the default). */
  unref(): this {
    refEvents(this._native, false);
    return this;
  }

  /** True once closed (explicitly or through teardown). */
  get closed(): boolean {
    return this._native.closed;
  }

  /** Device capabilities. */
  queryDevice(): DeviceAttributes {
    return this._native.queryDevice() as unknown as DeviceAttributes;
  }

  /** Attributes of port `port` (1-based). */
  queryPort(port = 1): PortAttributes {
    return this._native.queryPort(int('ibv_query_port', 'port', port, 1, 255)) as unknown as PortAttributes;
  }

  /** The valid GID entries of one port, or of all ports. */
  gidTable(port?: number): GidEntry[] {
    const p = port === undefined ? undefined : int('ibv_query_gid_table', 'port', port, 1, 255);
    return this._native.queryGidTable(p).map((e) => {
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

  /** Allocates a protection domain. */
  allocPd(): ProtectionDomain {
    assertOpen(this.closed, 'ibv_alloc_pd', 'Context');
    return new ProtectionDomain(this);
  }

  /** Creates a completion channel: the fd through which CQs wake the event loop. */
  createCompletionChannel(): CompletionChannel {
    assertOpen(this.closed, 'ibv_create_comp_channel', 'Context');
    return new CompletionChannel(this);
  }

  /** Creates a completion queue. */
  createCq(options: CqOptions = {}): CompletionQueue {
    const m = 'ibv_create_cq';
    assertOpen(this.closed, m, 'Context');
    const o = obj<CqOptions>(m, 'options', options);
    const entries = optInt(m, 'entries', o.entries, 256, 1, 0x7fffffff);
    const vector = optInt(m, 'compVector', o.compVector, 0, 0, 0x7fffffff);
    if (o.channel !== undefined && !(o.channel instanceof CompletionChannel)) {
      throw new TypeError(`${m}: channel must be a CompletionChannel`);
    }
    return new CompletionQueue(this, entries, o.channel ?? null, vector);
  }

  /**
   * Closes the device and, first, everything created under it. Harmless when
   * already closed. Events not yet emitted are dropped, listeners stay.
   */
  close(): void {
    this._native.close();
    abortClosedWaiters();
  }

  /** Same as {@link close}, for `using ctx = openDevice()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
