/**
 * What the measured loops of every test share: a phase (operations or a
 * duration, and the watchdog), how often a loop looks at the clock, the
 * immediate that ends a SEND phase, and the error of a failed completion.
 * @module
 */
import { CompletionBatch } from '@rdmajs/verbs';

import type { Watchdog } from './watchdog.js';

/** Immediate data of the last SEND of a phase: tells the receiving side to stop. */
export const STOP_IMM = 0x5e0f;

/** One measured (or warm-up) phase. */
export interface Phase {
  /** Operations to run; ignored when `durationMs` > 0. */
  total: number;
  /** Run for this long instead (0 = off). */
  durationMs: number;
  watchdog: Watchdog;
}

/**
 * Operations between two looks at the clock: often enough to end a `-D` run
 * on time, rarely enough to cost nothing (a clock read allocates in Node 20).
 */
export function checkEvery(phase: Phase): number {
  return phase.durationMs > 0 ? 64 : 1024;
}

/** Throws a readable error for a failed completion. */
export function failed(what: string, batch: CompletionBatch, i: number): never {
  throw new Error(`${what}: completion failed with ${batch.status(i)} (vendor error 0x${batch.fields[i * CompletionBatch.FIELDS + 2]!.toString(16)})`);
}
