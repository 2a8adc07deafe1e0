/**
 * The raw results of one benchmark pass, as a bench script prints them, and
 * the statistics taken over repeated runs.
 *
 * A pass is one boot of the testbed (or one run on a real device) in one
 * timing mode. Inside the VM nothing written to disk survives, so a pass
 * prints its document between {@link PASS_BEGIN} and {@link PASS_END} and
 * the host-side summary (summary.ts) reads it back from the console log.
 * @module
 */

/** How the figures of a pass were timed. */
export type PassTiming = 'deterministic' | 'threaded' | 'native';

/** Where a pass ran. */
export interface PassEnvironment {
  /** `deterministic`/`threaded`: the testbed VM's mode; `native`: a real device (or a VM we did not start). */
  timing: PassTiming;
  cpus: number;
  device: string;
  kernel: string;
  node: string;
  clocksource: string;
  testbed: boolean;
}

/** One figure of one run of one tool. */
export interface Measurement {
  /** The row's label, e.g. `write_bw 64 KiB` (rows.ts knows what it means). */
  row: string;
  /** The tool, e.g. `perftest`, `rdmajs`, `rstream`, `sdp`. */
  tool: string;
  unit: string;
  /** null: that run produced no figure (it failed or timed out). */
  value: number | null;
  /** Message size, for sweeps (`-a`). */
  bytes?: number;
  /** Anything the figure needs said (memory details). */
  note?: string;
  /** Figures that go with it (memory: `gcs`, `heapMiB`). */
  extra?: Record<string, number>;
}

/** A row (or one tool of it) the pass left out, and why. */
export interface Skipped {
  row: string;
  tool?: string;
  why: string;
}

/** What one pass prints. */
export interface PassDoc {
  tool: 'rdmajs-bench pass';
  suite: 'verbs' | 'sdp';
  environment: PassEnvironment;
  measurements: Measurement[];
  skipped: Skipped[];
}

export const PASS_BEGIN = '----- BEGIN RDMAJS-BENCH PASS -----';
export const PASS_END = '----- END RDMAJS-BENCH PASS -----';

/** The JSON documents between `begin` and `end` marker lines in a console log (any prefix before each line is ignored). */
export function extractDocs<T>(log: string, begin: string, end: string): T[] {
  const docs: T[] = [];
  let body: string[] | undefined;
  for (const line of log.split('\n')) {
    if (line.includes(begin)) body = [];
    else if (line.includes(end) && body) {
      docs.push(JSON.parse(body.join('\n')) as T);
      body = undefined;
    } else body?.push(line);
  }
  return docs;
}

/** The pass documents in a console log (with any prefix the testbed put before each line). */
export function extractPasses(log: string): PassDoc[] {
  return extractDocs<PassDoc>(log, PASS_BEGIN, PASS_END);
}

/** The median of the figures (the mean of the middle two for an even count); null when there are none. */
export function median(values: readonly (number | null)[]): number | null {
  const xs = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/**
 * How far apart the runs are: (max - min) / median, as a fraction. 0 for a
 * single run; null when there is no figure or the median is 0.
 */
export function spread(values: readonly (number | null)[]): number | null {
  const xs = values.filter((x): x is number => x !== null);
  const m = median(xs);
  if (m === null || m === 0) return null;
  return (Math.max(...xs) - Math.min(...xs)) / Math.abs(m);
}
