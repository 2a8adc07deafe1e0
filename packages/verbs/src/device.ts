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
  /** What the node is: `'CA'` (channel adapter) for IB and RoCE HCAs, including rxe; `'RNIC'` for iWARP. */
  nodeType: 'CA' | 'SWITCH' | 'ROUTER' | 'RNIC' | 'USNIC' | 'USNIC_UDP' | 'UNSPECIFIED' | 'UNKNOWN';
  /** Transport family: `'IB'` covers InfiniBand and RoCE; see {@link PortAttributes.linkLayer} to tell them apart. */
  transport: 'IB' | 'IWARP' | 'USNIC' | 'USNIC_UDP' | 'UNSPECIFIED' | 'UNKNOWN';
}

/**
 * Device capabilities (`ibv_query_device`), camelCased. The `max*` limits
 * bound what the create calls accept: asking for more fails with EINVAL.
 */
export interface DeviceAttributes {
  /** Firmware version text (empty for software devices such as rxe). */
  fwVer: string;
  /** Node GUID (network byte order value). */
  nodeGuid: bigint;
  /** System image GUID: equal for devices of one physical adapter. */
  sysImageGuid: bigint;
  /** Largest memory region, in bytes. */
  maxMrSize: bigint;
  /** Supported page sizes as a bit mask (bit n set: 2^n bytes). */
  pageSizeCap: bigint;
  /** IEEE vendor ID. */
  vendorId: number;
  /** Vendor's part ID. */
  vendorPartId: number;
  /** Hardware version. */
  hwVer: number;
  /** Most queue pairs. */
  maxQp: number;
  /** Most outstanding work requests per queue (send or receive) of a QP. */
  maxQpWr: number;
  /** `IBV_DEVICE_*` capability bits (`ibv_device_cap_flags`). */
  deviceCapFlags: number;
  /** Most scatter/gather entries per send or receive work request. */
  maxSge: number;
  /** Most scatter/gather entries per RDMA READ work request. */
  maxSgeRd: number;
  /** Most completion queues. */
  maxCq: number;
  /** Most entries per completion queue. */
  maxCqe: number;
  /** Most memory regions. */
  maxMr: number;
  /** Most protection domains. */
  maxPd: number;
  /** Most RDMA READ / atomic requests a QP can serve at once as responder. */
  maxQpRdAtom: number;
  /** Most RDMA READ / atomic requests a QP can have in flight as initiator. */
  maxQpInitRdAtom: number;
  /** Device-wide resources for serving incoming RDMA READ / atomic requests. */
  maxResRdAtom: number;
  /** Atomics: none, atomic with respect to this device only (`'HCA'`), or to the whole system (`'GLOB'`). */
  atomicCap: 'NONE' | 'HCA' | 'GLOB';
  /** Most memory windows (0: no memory window support). */
  maxMw: number;
  /** Most address handles. */
  maxAh: number;
  /** Most shared receive queues (0: no SRQ support). */
  maxSrq: number;
  /** Most work requests per SRQ. */
  maxSrqWr: number;
  /** Most scatter/gather entries per SRQ work request. */
  maxSrqSge: number;
  /** Size of the partition key table. */
  maxPkeys: number;
  /** Number of ports; they are numbered from 1. */
  physPortCnt: number;
}

/** Port attributes (`ibv_query_port`); MTUs in bytes. */
export interface PortAttributes {
  /** Logical port state: only an `'ACTIVE'` port passes traffic. */
  state: 'NOP' | 'DOWN' | 'INIT' | 'ARMED' | 'ACTIVE' | 'ACTIVE_DEFER' | 'UNKNOWN';
  /** Largest path MTU the port supports, in bytes. */
  maxMtu: number;
  /** Path MTU in use, in bytes (for RoCE: derived from the netdev's MTU). */
  activeMtu: number;
  /** Size of the GID table. */
  gidTblLen: number;
  /** `IBV_PORT_*` capability bits. */
  portCapFlags: number;
  /** Largest message, in bytes. */
  maxMsgSz: number;
  /** Size of the partition key table. */
  pkeyTblLen: number;
  /** Local identifier on an IB subnet (0 on RoCE, which addresses by GID). */
  lid: number;
  /** LID of the subnet manager (IB only). */
  smLid: number;
  /** LID mask control: the port answers to 2^lmc LIDs (IB only). */
  lmc: number;
  /** Number of virtual lanes (IB only). */
  maxVlNum: number;
  /** Service level to reach the subnet manager (IB only). */
  smSl: number;
  /** Link width code (`1`: 1x, `2`: 4x, `4`: 8x, `8`: 12x, `16`: 2x). */
  activeWidth: number;
  /** Link speed code per lane (IB encoding, e.g. `1`: SDR 2.5 Gb/s ... `32`: EDR 25 Gb/s). */
  activeSpeed: number;
  /** Physical state (`5`: LinkUp, `3`: Disabled...). */
  physState: number;
  /** `'ETHERNET'` for RoCE (including SoftRoCE), `'INFINIBAND'` for IB. */
  linkLayer: 'INFINIBAND' | 'ETHERNET' | 'UNSPECIFIED';
}

/** GID type: InfiniBand, RoCE v1 (Ethernet L2) or RoCE v2 (UDP/IP, routable). */
export type GidType = 'IB' | 'ROCE_V1' | 'ROCE_V2' | 'UNKNOWN';

/** One valid entry of a port's GID table. */
export interface GidEntry {
  /** The port (1-based). */
  port: number;
  /** Index in the port's GID table: what `gidIndex` and `sgidIndex` options take. */
  index: number;
  /** The GID in eight-group text form (see {@link formatGid}). */
  gid: string;
  /** The raw 16 bytes. */
  raw: Buffer;
  /** What the entry addresses (for RoCE, v2 is the routable UDP/IP flavour). */
  type: GidType;
  /** The network interface behind a RoCE GID, e.g. `'eth0'`; null for IB. */
  netdev: string | null;
  /** The IP address a RoCE GID encodes (IPv4 when v4-mapped); null for IB. */
  ip: string | null;
}

const debug = debuglog('verbs');

/**
 * Lists the RDMA devices of this host (`ibv_get_device_list`); empty when
 * there is none (or no kernel support).
 */
export function listDevices(): DeviceInfo[] {
  return native.Context.listDevices() as unknown as DeviceInfo[];
}

/**
 * Opens a device by name. Without a name: `$RDMAJS_DEVICE` if set, otherwise
 * the first device with an `ACTIVE` port.
 * @throws {@link RdmaError} `ENODEV` when there is no such device or no device
 * has an active port.
 * @throws TypeError when `name` is not a string.
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

  /** Device capabilities (`ibv_query_device`). */
  queryDevice(): DeviceAttributes {
    return this._native.queryDevice() as unknown as DeviceAttributes;
  }

  /**
   * Attributes of port `port` (1-based; `ibv_query_port`).
   * @throws RangeError when `port` is not in [1, 255]; {@link RdmaError} when the port does not exist.
   */
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

  /**
   * Allocates a protection domain (`ibv_alloc_pd`): the scope in which memory
   * regions and queue pairs may be used together.
   * @throws {@link RdmaError} `EBADF` when the context is closed.
   */
  allocPd(): ProtectionDomain {
    assertOpen(this.closed, 'ibv_alloc_pd', 'Context');
    return new ProtectionDomain(this);
  }

  /** Creates a completion channel: the fd through which CQs wake the event loop. */
  createCompletionChannel(): CompletionChannel {
    assertOpen(this.closed, 'ibv_create_comp_channel', 'Context');
    return new CompletionChannel(this);
  }

  /**
   * Creates a completion queue (`ibv_create_cq`), where work completions of
   * the QPs that use it arrive.
   * @throws RangeError for `entries` out of range; {@link RdmaError} `EBADF`
   * when closed, `EINVAL` when `entries` exceeds {@link DeviceAttributes.maxCqe}.
   */
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
