/**
 * The message-passing benchmark's table: per test and message size,
 * @rdmajs/mp next to Open MPI + UCX (osu.c) and ucx_perftest, the ratio to
 * Open MPI + UCX and the design's targets (shared/DESIGN.md §6):
 * small-message latency <= 1.3x, bandwidth at >= 1 MiB >= 0.9x, allreduce
 * of 1 MiB of doubles on 4 ranks <= 1.2x. Ratios and verdicts use figures
 * of one pass only.
 * @module
 */
import type { PassTiming } from '../report/results.js';
import type { MpFigure, MpPassDoc, MpSkipped, MpTest, MpTool } from './results.js';

/** Latency up to this size is "small-message" latency (osu.c's full-iteration sizes). */
export const SMALL_MESSAGE_MAX = 8192;
/** Bandwidth from this size up is judged. */
export const BW_JUDGED_MIN = 1 << 20;
/** The allreduce size judged (1 MiB of doubles = 131072 of them), on this many ranks. */
export const ALLREDUCE_JUDGED_BYTES = 1 << 20;
export const ALLREDUCE_JUDGED_RANKS = 4;

export interface MpTarget {
  op: '<=' | '>=';
  value: number;
}

/** The design's target for a test at a size (and rank count), if it has one. */
export function mpTarget(test: MpTest, bytes: number, ranks?: number): MpTarget | undefined {
  if (test === 'latency') return bytes <= SMALL_MESSAGE_MAX ? { op: '<=', value: 1.3 } : undefined;
  if (test === 'bw') return bytes >= BW_JUDGED_MIN ? { op: '>=', value: 0.9 } : undefined;
  return bytes === ALLREDUCE_JUDGED_BYTES && (ranks === undefined || ranks === ALLREDUCE_JUDGED_RANKS) ? { op: '<=', value: 1.2 } : undefined;
}

/** One size of one test. */
export interface MpRow {
  test: MpTest;
  bytes: number;
  /** Figures (µs or MB/s); null: none (see `missing`). */
  figures: Record<MpTool, number | null>;
  /** Why a tool has no figure. */
  missing: Partial<Record<MpTool, string>>;
  /** rdmajs / Open MPI + UCX (times for latency and allreduce, MB/s for bw). */
  ratio: number | null;
  target?: MpTarget;
  /** null: no target, or a figure is missing. */
  met: boolean | null;
}

export const MP_TESTS: readonly MpTest[] = ['latency', 'bw', 'allreduce'];
export const MP_TOOLS: readonly MpTool[] = ['rdmajs', 'openmpi', 'ucx_perftest'];
export const MP_UNITS: Record<MpTest, string> = { latency: 'µs', bw: 'MB/s', allreduce: 'µs' };

function skipReason(skipped: readonly MpSkipped[], test: MpTest, tool: MpTool): string | undefined {
  return skipped.find((s) => (s.test === test || s.test === '') && (s.tool === tool || s.tool === ''))?.why;
}

/**
 * The rows of one pass: every size any tool measured, in order. A size
 * measured twice by a tool (repeated runs) shows the median of the runs.
 */
export function mpRows(pass: MpPassDoc): MpRow[] {
  const rows: MpRow[] = [];
  for (const test of MP_TESTS) {
    const figs = pass.figures.filter((f) => f.test === test);
    const sizes = [...new Set(figs.map((f) => f.bytes))].sort((a, b) => a - b);
    for (const bytes of sizes) {
      const at = figs.filter((f) => f.bytes === bytes);
      const figures = {} as Record<MpTool, number | null>;
      const missing: Partial<Record<MpTool, string>> = {};
      for (const tool of MP_TOOLS) {
        const vs = at.filter((f) => f.tool === tool).map((f) => f.value);
        figures[tool] = medianOf(vs);
        if (figures[tool] === null) {
          // A tool that measured other sizes of the test (ucx_perftest runs fewer) shows '-'.
          const elsewhere = figs.some((f) => f.tool === tool);
          if (vs.length > 0) missing[tool] = 'no figure (the run failed)';
          else if (!elsewhere && !(test === 'allreduce' && tool === 'ucx_perftest')) missing[tool] = skipReason(pass.skipped, test, tool) ?? 'not run';
        }
      }
      const ranks = at.find((f) => f.tool === 'rdmajs' && f.ranks !== undefined)?.ranks ?? at.find((f) => f.ranks !== undefined)?.ranks;
      const target = mpTarget(test, bytes, ranks);
      const a = figures.openmpi;
      const s = figures.rdmajs;
      const ratio = a !== null && s !== null && a !== 0 ? s / a : null;
      const met = target && ratio !== null ? (target.op === '<=' ? ratio <= target.value : ratio >= target.value) : null;
      rows.push({ test, bytes, figures, missing, ratio, ...(target ? { target } : {}), met });
    }
  }
  return rows;
}

function medianOf(values: readonly (number | null)[]): number | null {
  const xs = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** `1 B`, `4 KiB`, `1 MiB`. */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes >> 10} KiB`;
  return `${bytes} B`;
}

function num(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

const HEAD: Record<MpTool, string> = { rdmajs: '@rdmajs/mp', openmpi: 'Open MPI+UCX', ucx_perftest: 'ucx_perftest' };

/** One Markdown table per test that has rows; a tool missing in every row of a test prints its reason under the table. */
export function formatMpTables(rows: readonly MpRow[], mode: string): string {
  const out: string[] = [];
  for (const test of MP_TESTS) {
    const rs = rows.filter((r) => r.test === test);
    if (rs.length === 0) continue;
    const tools = MP_TOOLS.filter((t) => !(test === 'allreduce' && t === 'ucx_perftest'));
    const unit = MP_UNITS[test];
    const ranks = test === 'allreduce' ? `, ${ALLREDUCE_JUDGED_RANKS} ranks` : ', 2 ranks';
    out.push(`### ${test} (${unit}, ${mode}${ranks})`, '');
    const head = ['size', ...tools.map((t) => `${HEAD[t]} ${unit}`), 'ratio', 'target', 'met'];
    const allMissing = tools.filter((t) => rs.every((r) => r.figures[t] === null));
    const body = rs.map((r) => [
      sizeLabel(r.bytes),
      ...tools.map((t) => (r.figures[t] === null ? (allMissing.includes(t) ? '-' : (r.missing[t] ?? '-')) : num(r.figures[t]!))),
      r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
      r.target ? `${r.target.op} ${r.target.value}x` : '-',
      r.met === null ? '-' : r.met ? 'yes' : '**no**',
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
    out.push(line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line), '');
    for (const t of allMissing) {
      const why = rs.find((r) => r.missing[t])?.missing[t] ?? 'not run';
      out.push(`${HEAD[t]}: ${why}`, '');
    }
  }
  return out.join('\n');
}

/** One line per target: how many judged sizes meet it, and the worst ratio. */
export function formatMpVerdicts(rows: readonly MpRow[]): string[] {
  const lines: string[] = [];
  for (const test of MP_TESTS) {
    const judged = rows.filter((r) => r.test === test && r.target);
    if (judged.length === 0) continue;
    const t = judged[0]!.target!;
    const what = test === 'latency' ? `latency <= ${sizeLabel(SMALL_MESSAGE_MAX)}` : test === 'bw' ? `bandwidth >= ${sizeLabel(BW_JUDGED_MIN)}` : `allreduce ${sizeLabel(ALLREDUCE_JUDGED_BYTES)}`;
    const withRatio = judged.filter((r) => r.ratio !== null);
    if (withRatio.length === 0) {
      lines.push(`${what} ${t.op} ${t.value}x Open MPI+UCX: not judged (a figure is missing)`);
      continue;
    }
    const worst = withRatio.reduce((w, r) => ((t.op === '<=' ? r.ratio! > w.ratio! : r.ratio! < w.ratio!) ? r : w));
    const met = withRatio.filter((r) => r.met).length;
    lines.push(`${what} ${t.op} ${t.value}x Open MPI+UCX: ${met}/${judged.length} sizes met; worst ${worst.ratio!.toFixed(2)}x at ${sizeLabel(worst.bytes)}`);
  }
  return lines;
}

/** How a pass was timed, for the table's headings. */
export function modeLabel(timing: PassTiming, cpus: number): string {
  return `${timing}, ${cpus} vCPU`;
}

/** The figures of one tool in one test, for charts and the JSON. */
export function seriesOf(figures: readonly MpFigure[], test: MpTest, tool: MpTool): [number, number][] {
  return figures
    .filter((f) => f.test === test && f.tool === tool && f.value !== null)
    .map((f) => [f.bytes, f.value!] as [number, number])
    .sort((a, b) => a[0] - b[0]);
}
