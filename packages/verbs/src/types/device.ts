/**
 * Plain data about devices: what {@link listDevices} lists, device and
 * port attributes, GID table entries.
 * @module
 */
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
