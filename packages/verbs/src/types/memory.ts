/**
 * Plain data of memory regions: registration options and the
 * {@link RemoteBuffer} a peer needs to RDMA into one.
 * @module
 */
/** Options of {@link ProtectionDomain.registerMemory}. */
export interface RegisterOptions {
  /**
   * Allow registering a small Buffer that lives in Node's shared pool. Other
   * Buffers share that memory: only do this for local, read-only access.
   */
  allowPooled?: boolean;
}

/** Where a peer may RDMA into: address and rkey, as sent to the peer. */
export interface RemoteBuffer {
  /** Start address as the peer's NIC must name it (a virtual address, not an offset). */
  address: bigint;
  /** Remote key the peer puts in its RDMA work requests. */
  rkey: number;
  /** Length available from `address`. */
  length: number;
}
