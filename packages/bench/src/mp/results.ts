/**
 * The message-passing benchmark's figures (scripts/bench-mp.sh): reading
 * what osu.c, mp/osu.ts and ucx_perftest print, and the pass document the
 * VM prints for the host (between {@link MP_PASS_BEGIN} and
 * {@link MP_PASS_END}; nothing written inside the VM survives it).
 * @module
 */
import { extractDocs, type PassEnvironment } from '../report/results.js';

export type MpTest = 'latency' | 'bw' | 'allreduce';

/** The tools of a row: ours, and the anchors. */
export type MpTool = 'rdmajs' | 'openmpi' | 'ucx_perftest';

/** One figure: a test at one size by one tool. */
export interface MpFigure {
  test: MpTest;
  tool: MpTool;
  bytes: number;
  /** µs (latency, allreduce) or MB/s (10^6 bytes/s; bw). null: the run gave none. */
  value: number | null;
  /** The mean (OSU's own figure), when the tool gives it. */
  mean?: number;
  iters?: number;
  ranks?: number;
}

/** A test (or one tool of it) the pass left out, and why. */
export interface MpSkipped {
  test: string;
  tool: string;
  why: string;
}

/** What one pass prints. */
export interface MpPassDoc {
  tool: 'rdmajs-bench mp pass';
  environment: PassEnvironment;
  /** The settings the anchors ran with (mpirun options, UCX_* variables). */
  settings: Record<string, string>;
  figures: MpFigure[];
  skipped: MpSkipped[];
  /** Every tool's info line (library versions). */
  info: string[];
}

export const MP_PASS_BEGIN = '----- BEGIN RDMAJS-BENCH MP PASS -----';
export const MP_PASS_END = '----- END RDMAJS-BENCH MP PASS -----';

/** One line of osu.c / mp/osu.ts output. */
export interface OsuRecord {
  test: MpTest | 'info';
  bytes?: number;
  iters?: number;
  ranks?: number;
  window?: number;
  usec?: number;
  mean_usec?: number;
  mb_s?: number;
  mean_mb_s?: number;
  bench?: string;
  impl?: string;
}

/**
 * The records in an OSU-style program's output. Lines may carry a
 * launcher's prefix (`[0] ` from rdmajs-run, `[1,0]<stdout>:` from mpirun
 * --tag-output): the JSON object starts at the first `{`. Other lines
 * (warnings, banners) are skipped.
 */
export function parseOsuOutput(text: string): OsuRecord[] {
  const out: OsuRecord[] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf('{"test":');
    if (at < 0) continue;
    try {
      const r = JSON.parse(line.slice(at)) as OsuRecord;
      if (r.test === 'info' || r.test === 'latency' || r.test === 'bw' || r.test === 'allreduce') out.push(r);
    } catch {
      // a line cut short (a rank killed mid-write): no figure
    }
  }
  return out;
}

/** The figures of an OSU-style run by `tool`. */
export function osuFigures(records: readonly OsuRecord[], tool: MpTool): MpFigure[] {
  const out: MpFigure[] = [];
  for (const r of records) {
    if (r.test === 'info' || r.bytes === undefined) continue;
    const bw = r.test === 'bw';
    const value = bw ? r.mb_s : r.usec;
    const mean = bw ? r.mean_mb_s : r.mean_usec;
    const f: MpFigure = { test: r.test, tool, bytes: r.bytes, value: typeof value === 'number' ? value : null };
    if (typeof mean === 'number') f.mean = mean;
    if (r.iters !== undefined) f.iters = r.iters;
    if (r.ranks !== undefined) f.ranks = r.ranks;
    out.push(f);
  }
  return out;
}

/** ucx_perftest's figures: its `Final:` line. */
export interface UcxPerftestResult {
  iters: number;
  /** One-way latency, µs: the median (50.0%ile column). */
  latencyUsec: number;
  latencyAvgUsec: number;
  /** Bandwidth over the whole run, MB/s (10^6; ucx_perftest prints MiB/s and calls them MB/s). */
  mbPerSec: number;
  msgRate: number;
}

/**
 * ucx_perftest's summary line (`Final: iters p50 avg overall bw-avg bw-overall rate-avg rate-overall`);
 * null when the run printed none (it failed).
 */
export function parseUcxPerftest(text: string): UcxPerftestResult | null {
  const line = text.split('\n').find((l) => /^\s*Final:/.test(l));
  if (!line) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((x) => Number.isNaN(x))) return null;
  return { iters: f[0]!, latencyUsec: f[1]!, latencyAvgUsec: f[2]!, mbPerSec: (f[5]! * 1048576) / 1e6, msgRate: f[7]! };
}

/** The pass documents in a console log (any prefix before each line is ignored). */
export function extractMpPasses(log: string): MpPassDoc[] {
  return extractDocs<MpPassDoc>(log, MP_PASS_BEGIN, MP_PASS_END);
}
