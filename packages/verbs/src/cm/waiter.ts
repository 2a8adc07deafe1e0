/**
 * Waiting for rdma_cm events on one id: connect and accept await the next
 * event of an expected type, by a deadline; any other type rejects with
 * what it means. Once the connection is up, later events go to its owner.
 * (Named CmEventWaiter: other modules have waiters of their own.)
 * @internal
 * @module
 */
import { rdmaError } from '../errors.js';
import type { NativeCmEvent } from '../native.js';
import type { EventSink } from './channel.js';
import { eventError } from './event-error.js';

interface Pending {
  expected: readonly string[];
  resolve(event: NativeCmEvent): void;
  reject(err: unknown): void;
}

/** @internal Waits for one of `expected` on an id; other event types reject. */
export class CmEventWaiter implements EventSink {
  #pending: Pending | undefined;
  /** Events after the connection is up go here. */
  onLater: ((event: NativeCmEvent) => void) | undefined;

  /**
   * @param method Names the operation in errors (`'rdma_connect'`).
   * @param peer `address:port` of the other side, for errors.
   */
  constructor(
    readonly method: string,
    readonly peer: string,
  ) {}

  /** The next event, if of an `expected` type; ETIMEDOUT at `deadline` (ms since the epoch). */
  wait(expected: readonly string[], deadline: number): Promise<NativeCmEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        reject(rdmaError(this.method, 'ETIMEDOUT', `${this.peer}: no ${expected.join('/')} in time`));
      }, Math.max(0, deadline - Date.now()));
      this.#pending = {
        expected,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** @internal Called by the channel. */
  onEvent(event: NativeCmEvent): void {
    const p = this.#pending;
    if (p) {
      this.#pending = undefined;
      if (p.expected.includes(event.type)) p.resolve(event);
      else p.reject(eventError(this.method, event, this.peer));
      return;
    }
    this.onLater?.(event);
  }
}
