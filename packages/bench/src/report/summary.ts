#!/usr/bin/env node
/**
 * The host side of `npm run bench` / `npm run bench:sdp`: reads the console
 * logs of one or more passes (one per testbed boot: deterministic, then
 * threaded for the rows one vCPU cannot measure), and makes one table with
 * the mode of every row, the spread of the runs, the targets and whether
 * each is met, plus the JSON and the SVG charts.
 *
 *   node packages/bench/dist/report/summary.js --suite verbs --out <dir> <pass log>...
 *
 * Writes `<dir>/<suite>.md`, `<dir>/<suite>.json`, `<dir>/<suite>-ratios.svg`
 * and, when the passes hold a size sweep, `<dir>/<suite>-sweep.svg`.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ratioChart, sweepChart, type SweepSeries } from './charts.js';
import { extractPasses, median, spread, type PassDoc, type PassEnvironment, type PassTiming } from './results.js';
import { SDP_ROWS, VERBS_ROWS, needsMoreCpus, specFor, type RowSpec, type Target } from './rows.js';

/** One tool's figures in one row. */
export interface Cell {
  tool: string;
  /** Every run's figure, in order (null: that run failed). */
  runs: (number | null)[];
  median: number | null;
  /** (max - min) / median of the runs. */
  spread: number | null;
  timing: PassTiming | null;
  cpus: number | null;
  /** Why there is no figure. */
  missing?: string;
  note?: string;
  extra?: Record<string, number>;
}

/** A subject's line: its figures, the ratio to the anchor, the target and the verdict. */
export interface SubjectLine {
  cell: Cell;
  ratio: number | null;
  /** The ratio from the least to the most favourable pair of runs. */
  ratioRange: [number, number] | null;
  target: string;
  /** null: no target, a figure is missing, or the mode cannot measure it. */
  met: boolean | null;
  why?: string;
}

export interface SummaryRow {
  spec: RowSpec;
  anchor: Cell;
  subjects: SubjectLine[];
}

function cellFor(passes: PassDoc[], spec: RowSpec, tool: string): Cell {
  const runs: (number | null)[] = [];
  let env: PassEnvironment | undefined;
  let note: string | undefined;
  let extra: Record<string, number> | undefined;
  for (const pass of passes) {
    for (const m of pass.measurements) {
      if (m.row !== spec.test || m.tool !== tool || m.bytes !== undefined) continue;
      runs.push(m.value);
      env ??= pass.environment;
      note = m.note ?? note;
      extra = m.extra ?? extra;
    }
  }
  const cell: Cell = { tool, runs, median: median(runs), spread: spread(runs), timing: env?.timing ?? null, cpus: env?.cpus ?? null };
  if (note) cell.note = note;
  if (extra) cell.extra = extra;
  if (runs.length === 0) {
    const skip = passes.flatMap((p) => p.skipped).find((s) => s.row === spec.test && (s.tool === undefined || s.tool === tool));
    cell.missing = skip ? skip.why : 'not run';
  } else if (cell.median === null) cell.missing = 'no figure (every run failed)';
  return cell;
}

function ratioOf(spec: RowSpec, subject: number, anchor: number): number {
  return spec.ratio === 'speed' && spec.better === 'lower' ? anchor / subject : subject / anchor;
}

function targetText(t: Target | undefined, spec: RowSpec, budget: number | null): string {
  if (!t) return '-';
  if (t.kind === 'flat') return 'flat (no GC, < 4 MiB)';
  if (t.kind === 'budget') return budget === null ? `<= ${spec.anchor} + (${t.node} - ${t.c})` : `<= ${budget.toFixed(1)} ${spec.unit}`;
  return `${t.op}${t.value}`;
}

/**
 * A subject's line. Its ratio, budget and verdict use only the pass it ran
 * in: a threaded figure is never set against a deterministic one.
 */
function subjectLine(passes: PassDoc[], spec: RowSpec, tool: string, target: Target | undefined): SubjectLine {
  const ran = passes.filter((p) => p.measurements.some((m) => m.row === spec.test && m.tool === tool && m.bytes === undefined));
  const own = ran.length ? ran.slice(0, 1) : passes;
  const cell = cellFor(own, spec, tool);
  const anchor = cellFor(own, spec, spec.anchor);
  const a = anchor.median;
  const s = cell.median;
  let ratio: number | null = null;
  let ratioRange: [number, number] | null = null;
  if (a !== null && s !== null && a !== 0 && s !== 0) {
    ratio = ratioOf(spec, s, a);
    const as = anchor.runs.filter((x): x is number => x !== null);
    const ss = cell.runs.filter((x): x is number => x !== null);
    const all = ss.flatMap((x) => as.map((y) => ratioOf(spec, x, y)));
    ratioRange = [Math.min(...all), Math.max(...all)];
  }
  let budget: number | null = null;
  if (target?.kind === 'budget') {
    const node = cellFor(own, spec, target.node).median;
    const c = cellFor(own, spec, target.c).median;
    if (a !== null && node !== null && c !== null) budget = a + (node - c);
  }
  const line: SubjectLine = { cell, ratio, ratioRange, target: targetText(target, spec, budget), met: null };
  // A figure the mode cannot measure is reported, never judged.
  if (cell.cpus !== null && needsMoreCpus(spec, tool, cell.cpus)) {
    line.why = `not measurable on ${cell.cpus} vCPU (busy-polling on both sides)`;
    return line;
  }
  if (!target) return line;
  if (target.kind === 'flat') {
    if (s !== null) line.met = s < 4 && (cell.extra?.gcs ?? 1) === 0;
    return line;
  }
  if (target.kind === 'budget') {
    if (s !== null && budget !== null) line.met = s <= budget;
    return line;
  }
  if (ratio !== null) line.met = target.op === '>=' ? ratio >= target.value : ratio <= target.value;
  return line;
}

/** The table's rows: every spec'd row the passes measured or skipped, then any other row they measured. */
export function summarise(passes: PassDoc[], specs: readonly RowSpec[]): SummaryRow[] {
  const measured = new Map<string, string[]>();
  for (const p of passes) {
    for (const m of p.measurements) {
      if (m.bytes !== undefined) continue;
      const tools = measured.get(m.row) ?? [];
      if (!tools.includes(m.tool)) tools.push(m.tool);
      measured.set(m.row, tools);
    }
    for (const s of p.skipped) if (!measured.has(s.row)) measured.set(s.row, []);
  }
  const order = [...specs.map((s) => s.test).filter((t) => measured.has(t)), ...[...measured.keys()].filter((t) => !specs.some((s) => s.test === t))];
  return order.map((test) => {
    const spec = specFor(specs, test, measured.get(test) ?? []);
    // The anchor as shown: from the first pass that ran it.
    const first = passes.find((p) => p.measurements.some((m) => m.row === test && m.tool === spec.anchor && m.bytes === undefined));
    const anchor = cellFor(first ? [first] : passes, spec, spec.anchor);
    const subjects = spec.subjects.map((s) => subjectLine(passes, spec, s.tool, s.target));
    return { spec, anchor, subjects };
  });
}

/** The sweeps (`-a` runs): one series per tool and row, the median per size. */
export function sweeps(passes: PassDoc[]): { row: string; unit: string; series: SweepSeries[] }[] {
  const byRow = new Map<string, { unit: string; tools: Map<string, Map<number, (number | null)[]>> }>();
  for (const p of passes) {
    for (const m of p.measurements) {
      if (m.bytes === undefined) continue;
      const row = byRow.get(m.row) ?? { unit: m.unit, tools: new Map() };
      byRow.set(m.row, row);
      const tool = row.tools.get(m.tool) ?? new Map<number, (number | null)[]>();
      row.tools.set(m.tool, tool);
      tool.set(m.bytes, [...(tool.get(m.bytes) ?? []), m.value]);
    }
  }
  return [...byRow].map(([row, { unit, tools }]) => ({
    row,
    unit,
    series: [...tools].map(([name, sizes]) => ({
      name,
      points: [...sizes]
        .map(([bytes, vs]) => [bytes, median(vs)] as const)
        .filter((p): p is readonly [number, number] => p[1] !== null)
        .sort((x, y) => x[0] - y[0]),
    })),
  }));
}

const MODE: Record<PassTiming, string> = { deterministic: 'deterministic', threaded: 'threaded', native: 'native' };

function fig(c: Cell): string {
  if (c.median === null) return c.missing ?? '-';
  const v = Math.abs(c.median) >= 100 ? c.median.toFixed(1) : Math.abs(c.median) >= 1 ? c.median.toFixed(2) : c.median.toFixed(4);
  return c.runs.length > 1 && c.spread !== null ? `${v} [${(c.spread * 100).toFixed(2)}%]` : v;
}

function mode(c: Cell): string {
  return c.timing === null ? '-' : `${MODE[c.timing]}, ${c.cpus} vCPU`;
}

/** The table as Markdown: one line per subject. */
export function formatMarkdown(rows: SummaryRow[]): string {
  const head = ['test', 'mode', 'anchor', 'anchor figure', 'tool', 'figure', 'ratio', 'target', 'met'];
  const body: string[][] = [];
  for (const r of rows) {
    r.subjects.forEach((s, i) => {
      const ratio = s.ratio === null ? '-' : `${s.ratio.toFixed(2)}${r.spec.ratio === 'speed' ? 'x' : ''}`;
      const met = s.met === null ? (s.why ?? '-') : s.met ? 'yes' : '**no**';
      body.push([
        i === 0 ? `${r.spec.test} (${r.spec.unit})` : '',
        mode(s.cell.timing !== null ? s.cell : r.anchor),
        i === 0 ? r.spec.anchor : '',
        i === 0 && r.spec.anchor !== '-' ? fig(r.anchor) : '',
        s.cell.tool,
        fig(s.cell),
        ratio,
        s.target,
        met,
      ]);
    });
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

/** Notes under the table: how to read it, and each figure's own note. */
export function formatNotes(rows: SummaryRow[], suite: 'verbs' | 'sdp'): string {
  const lines = [
    'Figures are the median of the runs; [x%] is their spread, (max - min) / median.',
    suite === 'verbs'
      ? 'ratio = rdmajs / perftest (above 1 is faster for bandwidth and rates, slower for latency).'
      : 'ratio = how many times faster than the anchor (above 1 is faster), whatever the unit.',
  ];
  for (const r of rows) for (const s of r.subjects) if (s.cell.note) lines.push(`${r.spec.test}, ${s.cell.tool}: ${s.cell.note}`);
  return lines.map((l) => `- ${l}`).join('\n');
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return 'unknown';
  }
}

function main(argv: string[]): number {
  let suite: 'verbs' | 'sdp' | undefined;
  let out = 'bench-results';
  const logs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--suite') {
      const v = argv[++i];
      if (v !== 'verbs' && v !== 'sdp') throw new Error('--suite must be verbs or sdp');
      suite = v;
    } else if (a === '--out') out = argv[++i] ?? out;
    else logs.push(a);
  }
  if (!suite || logs.length === 0) {
    process.stderr.write('usage: summary.js --suite verbs|sdp [--out dir] <pass log>...\n');
    return 2;
  }
  const passes = logs.flatMap((f) => extractPasses(readFileSync(f, 'utf8'))).filter((p) => p.suite === suite);
  if (passes.length === 0) {
    process.stderr.write(`summary: no ${suite} pass found in ${logs.join(', ')}\n`);
    return 1;
  }
  const rows = summarise(passes, suite === 'verbs' ? VERBS_ROWS : SDP_ROWS);
  const date = new Date().toISOString();
  const commit = gitCommit();
  const envs = passes.map((p) => p.environment);
  const title = suite === 'verbs' ? 'rdmajs-bench vs perftest' : '@rdmajs/sdp vs rsockets, TCP and perftest';
  const header = [
    `${title}: ${date.slice(0, 10)}, commit ${commit}, device ${envs[0]!.device}, kernel ${envs[0]!.kernel}, node ${envs[0]!.node}`,
    ...envs.map((e, i) => `pass ${i + 1}: ${MODE[e.timing]}, ${e.cpus} vCPU, clocksource ${e.clocksource}${e.testbed ? ', testbed VM' : ''}`),
  ].join('\n');
  const md = `${header}\n\n${formatMarkdown(rows)}\n\n${formatNotes(rows, suite)}\n`;
  process.stdout.write(`\n${md}`);

  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${suite}.md`), md);
  writeFileSync(join(out, `${suite}.json`), JSON.stringify({ tool: 'rdmajs-bench summary', suite, date, commit, passes: envs, rows, raw: passes }, null, 1) + '\n');
  writeFileSync(join(out, `${suite}-ratios.svg`), ratioChart(rows, `${title} (${commit}, ${date.slice(0, 10)})`));
  const written = [`${suite}.md`, `${suite}.json`, `${suite}-ratios.svg`];
  for (const [i, s] of sweeps(passes).entries()) {
    const name = `${suite}-sweep${i ? `-${i + 1}` : ''}.svg`;
    writeFileSync(join(out, name), sweepChart(s.series, `${s.row}: ${s.unit} by message size (${commit})`, s.unit));
    written.push(name);
  }
  process.stdout.write(`\nwritten to ${out}/: ${written.join(', ')}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`summary: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
