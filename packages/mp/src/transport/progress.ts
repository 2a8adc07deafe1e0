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

/** Runs until `target.stopped()` (resolves) or the CQ fails (reported, then resolves). */
export async function runProgress(cq: CompletionQueue, busyPollUs: number, target: ProgressTarget): Promise<void> {
  const batch = new CompletionBatch(BATCH);
  let turns = 0;
  while (!target.stopped()) {
    try {
      let n = cq.pollInto(batch, busyPollUs);
      if (n === 0) n = cq.armInto(batch);
      if (n === 0) {
        turns = 0;
        await cq.wait();
        continue;
      }
      target.process(batch, n);
      if (++turns >= TURNS_PER_YIELD) {
        turns = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      if (target.stopped()) return;
      target.deviceFailed(err as Error);
      return;
    }
  }
}
