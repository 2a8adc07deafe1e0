/**
 * The progress loop: polls the one completion queue in batches (busy-polling
 * `busyPollUs` first if asked), sleeps on its channel through libuv when
 * there is nothing, and yields a turn to the event loop every few batches
 * so timers and I/O run under load. What each completion means is the
 * transport's business (`process`); the batch is reused, so a turn
 * allocates nothing.
 * @internal
 * @module
 */
import { CompletionBatch, type CompletionQueue } from '@rdmajs/verbs';

/** Completions handled per poll. */
const BATCH = 64;
/** Batches before the loop yields a turn to the event loop. */
const TURNS_PER_YIELD = 16;

/** What the loop drives. */
export interface ProgressTarget {
  /** Whether to stop (asked before each poll). */
  stopped(): boolean;
  /** Handles completions `0..n-1` of `batch`. */
  process(batch: CompletionBatch, n: number): void;
  /** The CQ itself failed (overrun, device gone): nothing can progress. */
  deviceFailed(err: Error): void;
}

/**
 * Runs until `target.stopped()` (resolves) or the CQ fails (reported, then
 * resolves). Driven by the CQ's `onWake` callback: a wake-up runs one pass,
 * with no Promise or closure per wake.
 */
export function runProgress(cq: CompletionQueue, busyPollUs: number, target: ProgressTarget): Promise<void> {
  const batch = new CompletionBatch(BATCH);
  let yielding = false; // a pass is queued behind the event loop's turn
  return new Promise<void>((resolve) => {
    const finish = (): void => {
      cq.onWake(undefined);
      resolve();
    };
    // Wake-ups while a yield is queued are dropped: that pass polls anyway.
    const wake = (): void => {
      if (!yielding) pass();
    };
    const resume = (): void => {
      yielding = false;
      pass();
    };
    const pass = (): void => {
      for (let turns = 0; ; ) {
        if (target.stopped()) return finish();
        try {
          let n = cq.pollInto(batch, busyPollUs);
          // Arming polls once more after arming: empty means the next completion wakes us.
          if (n === 0) n = cq.armInto(batch);
          if (n === 0) return;
          target.process(batch, n);
        } catch (err) {
          if (!target.stopped()) target.deviceFailed(err as Error);
          return finish();
        }
        if (++turns >= TURNS_PER_YIELD) {
          yielding = true;
          setImmediate(resume);
          return;
        }
      }
    };
    cq.onWake(wake);
    pass();
  });
}
