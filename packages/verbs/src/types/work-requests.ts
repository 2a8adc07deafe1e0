/**
 * Work requests: what {@link QueuePair.postSend}, {@link QueuePair.postRecv}
 * and {@link MemoryWindow.bind} take. Plain objects that name registered
 * regions and address handles.
 * @module
 */
import type { AddressHandle } from '../ah.js';
import type { Access, SendOpcode } from '../constants.js';
import type { MemoryRegion } from '../mr.js';

/** A scatter/gather entry: `length` bytes at `offset` in a registered region. */
export interface Sge {
  /** The registered region; it must belong to the QP's protection domain. */
  mr: MemoryRegion;
  /** Default 0. */
  offset?: number;
  /** Default: the rest of the region from `offset`. */
  length?: number;
}

/** The remote side of an RDMA or atomic operation. */
export interface RemoteTarget {
  /** Remote start address (from the peer's {@link MemoryRegion.remote}). */
  address: bigint;
  /** The peer's remote key for that memory ({@link MemoryRegion.rkey} or {@link MemoryWindow.rkey} on its side). */
  rkey: number;
  /** Added to `address`; default 0. */
  offset?: number;
}

/** A send-queue work request. */
export interface SendWr {
  /** Returned in the completion. Default `0n`. */
  id?: bigint;
  /** Default `'SEND'`. */
  opcode?: SendOpcode;
  /** Local memory to send from / read into. An empty list sends zero bytes. */
  sg?: readonly Sge[];
  /** Immediate data (u32, host order) for the `*_WITH_IMM` opcodes. */
  imm?: number;
  /** Target of RDMA_WRITE*, RDMA_READ and atomics. */
  remote?: RemoteTarget;
  /** ATOMIC_CMP_AND_SWP: value to compare; ATOMIC_FETCH_AND_ADD: value to add. */
  compareAdd?: bigint;
  /** ATOMIC_CMP_AND_SWP: value to store when equal. */
  swap?: bigint;
  /** Generate a completion. Default true. */
  signaled?: boolean;
  /** Wait for prior RDMA_READs and atomics to finish first. */
  fence?: boolean;
  /** Ask the receiver's CQ to signal a solicited-only waiter. */
  solicited?: boolean;
  /** Copy the payload into the WQE (up to the QP's `maxInlineData`). */
  inline?: boolean;
  /** UD only: the destination. */
  ud?: UdTarget;
}

/** Destination of a UD send. */
export interface UdTarget {
  /** Address handle of the destination port (same PD as the QP). */
  ah: AddressHandle;
  /** Destination QP number. */
  remoteQpn: number;
  /** Destination QP's qkey. */
  remoteQkey: number;
}

/** A receive-queue work request. */
export interface RecvWr {
  /** Returned in the completion. Default `0n`. */
  id?: bigint;
  /** Where an incoming SEND lands. May be empty for RDMA_WRITE_WITH_IMM only. */
  sg?: readonly Sge[];
}

/** Options of {@link MemoryWindow.bind}. */
export interface BindOptions {
  /** The region to open a window onto; it needs `MW_BIND` access. */
  mr: MemoryRegion;
  /** Start of the window in the region. Default 0. */
  offset?: number;
  /** Window length. Default: the rest of the region. */
  length?: number;
  /** Rights the window grants, e.g. `['REMOTE_WRITE']`. */
  access: readonly Access[];
  /** Id of the BIND_MW completion. Default 0n. */
  id?: bigint;
  /** Default true. */
  signaled?: boolean;
}
