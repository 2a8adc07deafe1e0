// Exact TypeScript declarations of the addon's exports. @rdmajs/verbs wraps
// these with argument checks and idiomatic names; use that package, not this
// one, from applications. Enum-valued fields are the raw `ibv_*` numbers.
/* eslint-disable @typescript-eslint/no-explicit-any */

export interface NativeResource {
  readonly closed: boolean;
  close(): void;
  /**
   * `fn` runs (`this` = this object) once, when a JS `close()` closes this
   * object, itself or by cascade from a parent. Without `fn`: none.
   */
  setOnClosed(fn?: (this: NativeResource) => void): void;
}

export interface NativeContext extends NativeResource {
  readonly name: string;
  queryDevice(): Record<string, unknown>;
  queryPort(port: number): Record<string, unknown>;
  queryGidTable(port?: number): Array<Record<string, unknown>>;
  initAhAttrFromWc(port: number, wc: Record<string, unknown>, grh: Uint8Array | undefined): Record<string, unknown>;
}

export interface NativeProtectionDomain extends NativeResource {
  /** ibv_advise_mr: `advice` from ADVISE_MR, `flags` from ADVISE_MR_FLAGS; every range checked against its region. */
  adviseMr(advice: number, flags: number, sg: Array<{ mr: NativeMemoryRegion; offset: number; length: number }>): void;
}

export interface NativeMemoryRegion extends NativeResource {
  readonly inflight: number;
  readonly address: bigint;
  readonly length: number;
  readonly lkey: number;
  readonly rkey: number;
}

export interface NativeCompletionChannel extends NativeResource {
  readonly fd: number;
}

export interface NativeCompletionQueue extends NativeResource {
  readonly size: number;
  bindBatch(ids: BigUint64Array, fields: Uint32Array): void;
  /** Up to `max` completions into the bound batch; with `spinUs`, polls an empty CQ again natively for that long. */
  poll(max: number, spinUs?: number): number;
  requestNotify(solicitedOnly?: boolean): void;
  /** requestNotify(false), then poll(max): one crossing. */
  arm(max: number): number;
  setHandler(handler?: () => void): void;
  ref(): void;
  unref(): void;
}

export interface NativeQpCap {
  maxSendWr: number;
  maxRecvWr: number;
  maxSendSge: number;
  maxRecvSge: number;
  maxInlineData: number;
}

export interface NativeQueuePair extends NativeResource {
  readonly qpn: number;
  readonly state: string;
  readonly cap: NativeQpCap;
  readonly outstanding: { send: number; recv: number };
  modify(attrs: Record<string, unknown>): void;
  query(): Record<string, unknown>;
  bindDescriptors(send: ArrayBuffer, recv?: ArrayBuffer): void;
  /** Posts slots [0, count) of descriptor bank `bank` (0: the QP's own). */
  postSend(count: number, bank?: number): void;
  /** Binds a prepared set's descriptors; returns its bank id (>= 1). */
  bindSendBank(send: ArrayBuffer): number;
  unbindSendBank(bank: number): void;
  postRecv(count: number): void;
}

export interface NativeSharedReceiveQueue extends NativeResource {
  readonly cap: { maxWr: number; maxSge: number };
  bindDescriptors(recv: ArrayBuffer): void;
  postRecv(count: number): void;
  modify(attrs: { maxWr?: number; srqLimit?: number }): void;
  query(): { maxWr: number; maxSge: number; srqLimit: number };
}

export interface NativeAddressHandle extends NativeResource {
  readonly id: number;
}

export interface NativeMemoryWindow extends NativeResource {
  readonly rkey: number;
  bind(qp: NativeQueuePair, mr: NativeMemoryRegion, offset: number, length: number, access: number, id: bigint, signaled: boolean): number;
}

export interface NativeCmEvent {
  type: string;
  status: number;
  privateData: Buffer;
  listener: NativeCmId | undefined;
  /** ESTABLISHED on a UD id: the listener's QP (SIDR reply). */
  ud?: { ahAttr: Record<string, unknown>; qpNum: number; qkey: number };
}

export interface NativeCmEventChannel extends NativeResource {
  setHandler(handler: (id: NativeCmId, event: NativeCmEvent) => void): void;
  setRef(ref: boolean): void;
}

export interface NativeCmAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export interface NativeCmId extends NativeResource {
  readonly device: string | null;
  readonly port: number;
  readonly localAddress: NativeCmAddress | null;
  readonly remoteAddress: NativeCmAddress | null;
  bindAddr(host: string, port: number): void;
  resolveAddr(source: string | null, host: string, port: number, timeoutMs: number): void;
  resolveRoute(timeoutMs: number): void;
  listen(backlog: number): void;
  initQpAttr(state: number): Record<string, unknown>;
  connect(params: Record<string, unknown>): void;
  accept(params: Record<string, unknown>): void;
  reject(privateData?: Uint8Array): void;
  establish(): void;
  disconnect(): void;
}

export interface NativeConstants {
  QP_TYPE: Record<string, number>;
  QP_STATE: Record<string, number>;
  MTU: Record<string, number>;
  ACCESS: Record<string, number>;
  WR_OPCODE: Record<string, number>;
  SEND_FLAGS: Record<string, number>;
  WC_OPCODE: Record<string, number>;
  WC_FLAGS: Record<string, number>;
  WC_STATUS: Record<string, number>;
  WC_STATUS_TEXT: Record<number, string>;
  PORT_SPACE: Record<'TCP' | 'UDP', number>;
  ADVISE_MR: Record<'PREFETCH' | 'PREFETCH_WRITE' | 'PREFETCH_NO_FAULT', number>;
  ADVISE_MR_FLAGS: Record<'FLUSH', number>;
  /** Byte offsets in a send descriptor slot; BYTES is the header size (native/src/layouts.h). */
  SEND_SLOT: NativeSendSlot;
  /** Byte offsets in a receive descriptor slot; BYTES is the header size. */
  RECV_SLOT: NativeRecvSlot;
  /** Byte offsets in an SGE record; BYTES is the record size. */
  SGE: NativeSgeRecord;
  /** u32 indexes of a completion's fields in a batch; COUNT fields per completion. */
  WC_FIELD: NativeWcField;
  /** Alias of WC_FIELD.COUNT. */
  WC_FIELDS: number;
  /** Alias of SEND_SLOT.BYTES. */
  SEND_HEADER_BYTES: number;
  /** Alias of RECV_SLOT.BYTES. */
  RECV_HEADER_BYTES: number;
  /** Alias of SGE.BYTES. */
  SGE_BYTES: number;
}

// The record layouts, declared once in native/src/layouts.h.
export type NativeSendSlot = Readonly<
  Record<
    | 'WR_ID'
    | 'REMOTE_ADDR'
    | 'COMPARE_ADD'
    | 'SWAP'
    | 'OPCODE'
    | 'FLAGS'
    | 'IMM'
    | 'RKEY'
    | 'NUM_SGE'
    | 'AH_ID'
    | 'REMOTE_OFFSET'
    | 'REMOTE_QPN'
    | 'REMOTE_QKEY'
    | 'BYTES',
    number
  >
>;
export type NativeRecvSlot = Readonly<Record<'WR_ID' | 'NUM_SGE' | 'BYTES', number>>;
export type NativeSgeRecord = Readonly<Record<'BASE' | 'OFFSET' | 'LENGTH' | 'LKEY' | 'BYTES', number>>;
export type NativeWcField = Readonly<
  Record<
    | 'STATUS'
    | 'OPCODE'
    | 'VENDOR_ERR'
    | 'BYTE_LEN'
    | 'IMM'
    | 'QP_NUM'
    | 'SRC_QP'
    | 'FLAGS'
    | 'PKEY_INDEX'
    | 'SLID'
    | 'SL'
    | 'DLID_PATH_BITS'
    | 'COUNT',
    number
  >
>;

export interface NativeAddon {
  Context: { new (name: string): NativeContext; listDevices(): Array<Record<string, unknown>> };
  ProtectionDomain: new (ctx: NativeContext) => NativeProtectionDomain;
  MemoryRegion: new (pd: NativeProtectionDomain, buffer: ArrayBufferView | ArrayBufferLike, access: number) => NativeMemoryRegion;
  CompletionChannel: new (ctx: NativeContext) => NativeCompletionChannel;
  CompletionQueue: new (
    ctx: NativeContext,
    entries: number,
    channel: NativeCompletionChannel | null,
    compVector: number,
  ) => NativeCompletionQueue;
  QueuePair: new (pd: NativeProtectionDomain, options: Record<string, unknown>) => NativeQueuePair;
  SharedReceiveQueue: new (pd: NativeProtectionDomain, options: Record<string, unknown>) => NativeSharedReceiveQueue;
  AddressHandle: new (pd: NativeProtectionDomain, attrs: Record<string, unknown>) => NativeAddressHandle;
  MemoryWindow: new (pd: NativeProtectionDomain) => NativeMemoryWindow;
  CmEventChannel: new () => NativeCmEventChannel;
  CmId: new (channel: NativeCmEventChannel, portSpace: number) => NativeCmId;
  constants: NativeConstants;
  /** The class the addon throws for failed verbs (its constructor is called with a message, code, errno and syscall). */
  setErrorClass(cls: new (...args: any[]) => Error): void;
  forkInit(): void;
}

// The module itself (module.exports) is a NativeAddon.
export declare const Context: NativeAddon['Context'];
export declare const ProtectionDomain: NativeAddon['ProtectionDomain'];
export declare const MemoryRegion: NativeAddon['MemoryRegion'];
export declare const CompletionChannel: NativeAddon['CompletionChannel'];
export declare const CompletionQueue: NativeAddon['CompletionQueue'];
export declare const QueuePair: NativeAddon['QueuePair'];
export declare const SharedReceiveQueue: NativeAddon['SharedReceiveQueue'];
export declare const AddressHandle: NativeAddon['AddressHandle'];
export declare const MemoryWindow: NativeAddon['MemoryWindow'];
export declare const CmEventChannel: NativeAddon['CmEventChannel'];
export declare const CmId: NativeAddon['CmId'];
export declare const constants: NativeAddon['constants'];
export declare const setErrorClass: NativeAddon['setErrorClass'];
export declare const forkInit: NativeAddon['forkInit'];
