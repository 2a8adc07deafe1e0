/**
 * Time keeping around a measured loop, done rarely so the loop stays cheap:
 * the end of a `-D` run, a progress line on long runs, and an abort when
 * nothing completes any more (a dead peer must not leave a busy loop
 * spinning forever).
 *
 * Busy loops call {@link Watchdog.check} every few thousand polls (reading
 * the clock allocates a little in Node 20, so never per operation).
 * Event-driven loops cannot be interrupted by a check they never reach while
 * awaiting, so {@link Watchdog.arm} also runs an unref'd interval timer.
 * @module
 */

/** Thrown (or reported, from the timer) when a loop stops making progress. */
export class StallError extends Error {}

/** How often busy loops call {@link Watchdog.check}: a mask on their poll counter. */
export const CHECK_MASK = 0xfff;

export class Watchdog {
  /** Operations completed so far; event-driven loops keep it current for the timer. */
  count = 0;
  #label: string;
  #total: number;
  #stallMs: number;
  #deadline: number;
  #started = performance.now();
  #lastCount = -1;
  #lastProgressAt = this.#started;
  #nextReportAt: number;
  #reportMs: number;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param label What runs, for the progress line and errors.
   * @param total Operations planned (Infinity in duration mode).
   * @param durationMs Stop after this long (0 = run `total`).
   * @param stallMs Abort after this long without progress.
   * @param reportMs Progress line interval.
   */
  constructor(label: string, total: number, durationMs: number, stallMs: number, reportMs = 5000) {
    this.#label = label;
    this.#total = total;
    this.#stallMs = stallMs;
    this.#deadline = durationMs > 0 ? this.#started + durationMs : Infinity;
    this.#nextReportAt = this.#started + reportMs;
    this.#reportMs = reportMs;
  }

  /**
   * Checks the clock: throws {@link StallError} when `count` has not moved
   * for too long, prints progress now and then, and returns true once the
   * duration of a `-D` run is over.
   */
  check(count: number): boolean {
    const now = performance.now();
    this.count = count;
    if (count !== this.#lastCount) {
      this.#lastCount = count;
      this.#lastProgressAt = now;
    } else if (now - this.#lastProgressAt > this.#stallMs) {
      throw new StallError(`${this.#label}: no progress for ${(this.#stallMs / 1000).toFixed(0)} s at ${count} operations; is the peer alive?`);
    }
    if (now >= this.#nextReportAt) {
      this.#nextReportAt = now + this.#reportMs;
      const elapsed = ((now - this.#started) / 1000).toFixed(0);
      const share = Number.isFinite(this.#total) ? ` (${((100 * count) / this.#total).toFixed(0)}%)` : '';
      process.stderr.write(`[rdmajs-bench] ${this.#label}: ${count} operations${share}, ${elapsed} s\n`);
    }
    return now >= this.#deadline;
  }

  /** For event-driven loops: check every second from a timer; a stall ends the process (exit 3). */
  arm(): this {
    this.#timer = setInterval(() => {
      try {
        this.check(this.count);
      } catch (err) {
        process.stderr.write(`rdmajs-bench: ${(err as Error).message}\n`);
        process.exit(3);
      }
    }, 1000);
    this.#timer.unref();
    return this;
  }

  /** Stops the timer of {@link arm}. */
  disarm(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
