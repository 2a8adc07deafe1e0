/**
 * Flow control between two ranks over a shared receive queue.
 *
 * Every rank's SRQ holds a quota of `window` bounce buffers per peer. A
 * sender spends one credit per frame that takes a buffer at the receiver
 * (eager, RTS, FIN); without credits it queues instead of overrunning the
 * receiver (which would make the NIC answer RNR and stall the link). The
 * receiver reposts each buffer as soon as it has handled the frame and owes
 * the peer a credit for it; owed credits ride back in the header of any
 * frame it sends that way, or in a CREDIT frame once half a window is owed
 * and nothing else is going out.
 *
 * CREDIT frames spend no credit (else two ranks out of credits could never
 * tell each other they have room); each one is only sent after half a
 * window of frames arrived, so at most two are in flight per peer, which the
 * SRQ's reserve covers. RNR retry stays on as a backstop.
 *
 * Pure bookkeeping, no I/O: unit-tested over a fake link.
 * @internal
 * @module
 */
import { MAX_CREDITS_FIELD } from './wire.js';

export class Credits {
  /** Frames this side may still send to the peer. */
  available: number;
  /** Buffers reposted for the peer's frames, not yet announced to it. */
  owed = 0;

  constructor(readonly window: number) {
    if (!Number.isInteger(window) || window < 2) throw new RangeError(`credit window must be an integer >= 2, got ${window}`);
    this.available = window;
  }

  /** Spends one credit; false (nothing spent) when none is left. */
  spend(): boolean {
    if (this.available === 0) return false;
    this.available--;
    return true;
  }

  /** The peer announced `n` reposted buffers. Returns false when that exceeds the window (a protocol error). */
  grant(n: number): boolean {
    if (this.available + n > this.window) return false;
    this.available += n;
    return true;
  }

  /** A frame from the peer that took a buffer was handled and its buffer reposted. */
  consumed(): void {
    this.owed++;
  }

  /** The credits to put in an outgoing frame's header (all owed, up to the field's width). */
  takeOwed(): number {
    const n = Math.min(this.owed, MAX_CREDITS_FIELD);
    this.owed -= n;
    return n;
  }

  /** Whether enough is owed that a CREDIT frame should go even with no other traffic. */
  get creditFrameDue(): boolean {
    return this.owed >= this.window >> 1;
  }
}
