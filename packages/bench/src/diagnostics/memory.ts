/**
 * Heap, RSS and garbage collections around a measured phase: the evidence
 * that the hot path does not allocate. A loop that allocates nothing causes
 * no scavenge at all, however long it runs; one small object per operation
 * shows up as dozens of minor GCs per million operations.
 * @module
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

/** Memory figures in MiB. */
export interface MemorySample {
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
}

/** What changed across a measured phase. */
export interface MemoryReport {
  before: MemorySample;
  after: MemorySample;
  /** Garbage collections that started inside the phase. */
  gc: { minor: number; major: number; other: number; pauseMs: number };
  /**
   * What the process waited for inside the phase: page faults that read a
   * file (major), and times it blocked (voluntary context switches). In
   * the testbed's deterministic timing a wait on the host (a major fault
   * over 9p) moves guest time to the next timer tick, up to 4 ms: the one
   * way the host's load reaches a figure.
   */
  waits: { majorFaults: number; voluntarySwitches: number };
}

const MiB = 2 ** 20;
const round = (x: number) => Math.round(x * 1000) / 1000;

function sample(): MemorySample {
  const m = process.memoryUsage();
  return { rssMiB: round(m.rss / MiB), heapUsedMiB: round(m.heapUsed / MiB), heapTotalMiB: round(m.heapTotal / MiB), externalMiB: round(m.external / MiB) };
}

/** Brackets one measured phase: {@link start} before it, {@link stop} after. */
export class MemoryProbe {
  #entries: PerformanceEntry[] = [];
  #observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.#entries.push(e);
  });
  #before: MemorySample | undefined;
  #usage: NodeJS.ResourceUsage | undefined;
  #from = 0;
  #to = 0;

  /** Samples memory and starts counting GCs. */
  start(): void {
    this.#entries = [];
    this.#observer.observe({ entryTypes: ['gc'] });
    this.#before = sample();
    this.#usage = process.resourceUsage();
    this.#from = performance.now();
  }

  /** Samples memory again and returns the report (waits for pending GC entries first). */
  async stop(): Promise<MemoryReport> {
    this.#to = performance.now();
    const usage = process.resourceUsage();
    const after = sample();
    // GC entries are delivered asynchronously: let them arrive.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
    this.#observer.disconnect();
    const gc = { minor: 0, major: 0, other: 0, pauseMs: 0 };
    for (const e of this.#entries) {
      if (e.startTime < this.#from || e.startTime > this.#to) continue;
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
      else gc.other++;
      gc.pauseMs += e.duration;
    }
    gc.pauseMs = round(gc.pauseMs);
    const u0 = this.#usage ?? usage;
    const waits = { majorFaults: usage.majorPageFault - u0.majorPageFault, voluntarySwitches: usage.voluntaryContextSwitches - u0.voluntaryContextSwitches };
    return { before: this.#before ?? after, after, gc, waits };
  }
}

/** One line for humans: `heap 4.1 -> 4.1 MiB, RSS 61.2 -> 61.3 MiB, GC during the run: 0 minor, 0 major`. */
export function formatMemory(m: MemoryReport): string {
  const d = (a: number, b: number) => `${a.toFixed(1)} -> ${b.toFixed(1)} MiB (${b - a >= 0 ? '+' : ''}${(b - a).toFixed(2)})`;
  return (
    `heap used ${d(m.before.heapUsedMiB, m.after.heapUsedMiB)}, RSS ${d(m.before.rssMiB, m.after.rssMiB)}, ` +
    `GCs during the run: ${m.gc.minor} minor, ${m.gc.major} major${m.gc.other ? `, ${m.gc.other} other` : ''} (${m.gc.pauseMs.toFixed(1)} ms), ` +
    `waits: ${m.waits.majorFaults} major faults, blocked ${m.waits.voluntarySwitches} times`
  );
}
