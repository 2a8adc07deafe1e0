/**
 * One connection: the RC queue pair to one peer rank (made on first use,
 * see wireup.ts), its credits, the
 * room left in its send queue, and what waits for credits or room, in
 * order (frames to one peer must leave in the order they were sent, or
 * MPI's non-overtaking rule breaks).
 * @internal
 * @module
 */
import type { QueuePair } from '@rdmajs/verbs';

import type { MpError } from '../errors.js';
import { Credits } from './credits.js';

/** Called once when an operation completes: no argument on success. */
export type Done = (err?: MpError) => void;

/** A rendezvous announcement as the receiver keeps it until it matches. */
export interface Announcement {
  /** Sender's world rank. */
  readonly source: number;
  /** Sender's rendezvous id, echoed in the FIN. */
  readonly id: number;
  readonly address: bigint;
  readonly rkey: number;
  readonly length: number;
}

/** Work that waits for credits, a send slot or send-queue room. */
export type Queued =
  | { kind: 'eager'; context: number; tag: number; data: Uint8Array; done: Done }
  | { kind: 'rts'; context: number; tag: number; length: number; id: number; address: bigint; rkey: number }
  | { kind: 'fin'; id: number }
  | { kind: 'read'; op: number };

export class Peer {
  readonly credits: Credits;
  /** Free entries of the send queue. */
  sqFree: number;
  /** Work requests posted and not yet known complete (signaled or not). */
  outstanding = 0;
  /** Unsignaled (inline) sends posted since the last signaled work request. */
  unsignaled = 0;
  /**
   * For each signaled work request in flight, in posting order: how many
   * unsignaled ones went before it. Its completion completes them too (a
   * send queue completes in order), so their entries come back with it.
   */
  readonly #covers: Int32Array;
  #coversHead = 0;
  #coversLength = 0;
  /** Set when the connection failed or the peer left: nothing more is posted. */
  failure: MpError | undefined;
  /** Our QP's initial PSN (sent in the handshake). */
  readonly psn: number;
  /** The peer's QP ours is connected to, once it is. */
  remoteQpn: number | undefined;
  /** The peer's QP is known to be connected to ours: frames may go (see wireup.ts). */
  ready = false;
  /** While asking the peer to connect: the repeat timer, its next delay, and when to give up. */
  reqTimer: NodeJS.Timeout | undefined;
  reqDelayMs = 0;
  reqDeadline = 0;
  readonly #queue: Queued[] = [];
  #head = 0;

  constructor(
    readonly rank: number,
    readonly qp: QueuePair,
    window: number,
    sqDepth: number,
  ) {
    this.credits = new Credits(window);
    this.sqFree = sqDepth;
    this.#covers = new Int32Array(sqDepth);
    this.psn = qp.endpoint().psn;
  }

  /** Accounts a posted work request. */
  posted(signaled: boolean): void {
    this.sqFree--;
    this.outstanding++;
    if (!signaled) {
      this.unsignaled++;
      return;
    }
    this.#covers[(this.#coversHead + this.#coversLength++) % this.#covers.length] = this.unsignaled;
    this.unsignaled = 0;
  }

  /** A signaled work request completed: it and the unsignaled ones before it free their entries. */
  completed(): void {
    if (this.#coversLength === 0) return; // after a failure the accounting no longer matters
    const n = 1 + (this.#covers[this.#coversHead] as number);
    this.#coversHead = (this.#coversHead + 1) % this.#covers.length;
    this.#coversLength--;
    this.sqFree += n;
    this.outstanding -= n;
  }

  /** Stops asking the peer to connect. */
  stopAsking(): void {
    if (this.reqTimer !== undefined) clearTimeout(this.reqTimer);
    this.reqTimer = undefined;
  }

  /** Whether work is waiting (then new work must queue behind it). */
  get blocked(): boolean {
    return this.#head < this.#queue.length;
  }

  enqueue(work: Queued): void {
    this.#queue.push(work);
  }

  /** The oldest waiting work, without removing it. */
  peek(): Queued | undefined {
    return this.#queue[this.#head];
  }

  shift(): void {
    this.#queue[this.#head++] = undefined as unknown as Queued;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Removes and returns everything waiting (the connection failed). */
  drain(): Queued[] {
    const out = this.#queue.slice(this.#head);
    this.#queue.length = 0;
    this.#head = 0;
    return out;
  }
}
