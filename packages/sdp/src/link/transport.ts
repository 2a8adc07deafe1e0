/**
 * The small interface the link's parts move bytes through: post work
 * requests, poll and arm completions, registered memory, the connection's
 * two events. verbs-transport.ts implements it over @rdmajs/verbs (one QP,
 * one CQ, rdma_cm); the unit tests implement it with a fake that joins two
 * links in memory, so credit and stall cases replay without a device.
 *
 * Work requests are verbs' own {@link SendWr}/{@link RecvWr} shapes: the
 * link reuses a few preallocated ones, and translating them per post would
 * allocate on the hot path.
 * @module
 */
import type { MemoryRegion, RecvWr, SendWr } from '@rdmajs/verbs';

export type { MemoryRegion, RecvWr, SendWr };

/** One batch of completions, read by index (verbs' CompletionBatch is one). */
export interface Completions {
  ok(i: number): boolean;
  status(i: number): string;
  opcode(i: number): string;
  imm(i: number): number | undefined;
}

/** A registered view of a caller's buffer: its region and where the view starts in it. */
export interface ZeroCopyRegistration {
  readonly mr: MemoryRegion;
  readonly offset: number;
}

/** Registrations of callers' buffers for zero-copy sends (verbs' RegistrationCache). */
export interface ZeroCopyRegistry {
  /** The buffer's registration, or undefined: copy it instead. */
  acquire(buf: Buffer): ZeroCopyRegistration | undefined;
  /** Hands a registration back once the sends reading it completed. */
  release(reg: ZeroCopyRegistration): void;
  close(): void;
}

/** What one connection's link needs from below. */
export interface Transport {
  /** Our receive ring, followed by the credit word the peer writes. */
  readonly ring: Buffer;
  readonly ringSize: number;
  /** Receives posted before connecting (the peer's message credits). */
  readonly recvCredits: number;
  readonly busyPollUs: number;
  /** Writes at least this big may go zero-copy (0: never). */
  readonly zeroCopyThreshold: number;
  /** Zero-copy registrations, undefined when zero-copy is off. */
  readonly zeroCopy: ZeroCopyRegistry | undefined;
  /** Registered memory to send from (local access only). */
  allocate(bytes: number): MemoryRegion;
  /** Posts a chain of sends; throws when the QP refuses it. */
  postSend(wrs: SendWr[]): void;
  /** Posts receives; throws when the QP refuses them. */
  postRecv(wrs: RecvWr[]): void;
  /** The batch {@link poll} and {@link arm} fill. */
  readonly completions: Completions;
  /** Polls completions into {@link completions}, spinning up to `spinUs`. */
  poll(spinUs?: number): number;
  /** Arms the completion event; polls once more (closing the race) and returns what that found. */
  arm(): number;
  /**
   * Calls `fn` on each completion event after {@link arm} returned 0, from
   * the event loop (never inside a call of ours), until `undefined` removes
   * it. No Promise per wake-up: the progress loop is a plain callback.
   */
  onWake(fn: (() => void) | undefined): void;
  /** Whether the peer is known to be ready (false after an early accept until it confirms). */
  readonly established: boolean;
  /** Runs `fn` once when the peer confirms the connection. */
  onEstablished(fn: () => void): void;
  /** Runs `fn` once when the connection goes away (either side). */
  onDisconnected(fn: () => void): void;
  /** Stops the QP from touching memory any more (error state). */
  halt(): void;
  ref(): void;
  unref(): void;
  /** Disconnects and destroys the QP; afterwards nothing reads or writes our memory. */
  disconnect(): Promise<void>;
  /** Frees the ring, CQ and protection domain (after {@link disconnect}). */
  free(): void;
}
