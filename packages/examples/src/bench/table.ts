#!/usr/bin/env node
/**
 * The comparison table of `npm run bench` (scripts/bench.sh): reads the
 * outputs of perftest and of `rdmajs-bench --json` that the script
 * collected in one directory, and prints one table (test, perftest figure,
 * rdmajs figure, ratio, target) plus the same as JSON between marker lines.
 *
 *   node packages/examples/dist/bench/table.js <dir>
 *
 * `<dir>/manifest.tsv` lists the rows, tab-separated:
 *   label  metric  perftest-outputs  rdmajs-jsons  target
 * metric: `bw` (MiB/s), `mpps`, `lat` (typical µs), or `mem` (RSS/heap/GCs
 * of the rdmajs run; no perftest file: `-`). target: `>=0.95`, `<=1.15`,
 * `flat` (mem) or `-`. Outputs are comma-separated lists of files relative
 * to `<dir>`, one per repetition: each tool's best run (highest bandwidth or
 * rate, lowest latency) makes the row; all runs are kept in the JSON.
 * @module
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Report } from './report.js';

export const JSON_BEGIN = '----- BEGIN RDMAJS-BENCH TABLE JSON -----';
export const JSON_END = '----- END RDMAJS-BENCH TABLE JSON -----';

type Metric = 'bw' | 'mpps' | 'lat' | 'mem';

/** One row of the table. */
export interface TableRow {
  test: string;
  metric: Metric;
  unit: string;
  /** Best run of each tool. */
  perftest: number | null;
  rdmajs: number | null;
  /** Every run (null: that run gave no figure). */
  perftestRuns?: (number | null)[];
  rdmajsRuns?: (number | null)[];
  /** rdmajs / perftest. */
  ratio: number | null;
  target: string;
  /** Whether the target is met; null when there is no target or a figure is missing. */
  met: boolean | null;
  /** Why a figure is missing, or memory details. */
  note?: string;
}

/** perftest's result line: the first line of numbers after the `#bytes` header. */
export function parsePerftest(text: string, metric: Metric): number | null {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.includes('#bytes'));
  if (head < 0) return null;
  for (const line of lines.slice(head + 1)) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 5 || f.some((x) => Number.isNaN(x))) continue;
    // BW:  #bytes #iterations BW-peak BW-average MsgRate
    // LAT: #bytes #iterations t_min t_max t_typical t_avg t_stdev p99 p99.9
    if (metric === 'bw') return f[3]!;
    if (metric === 'mpps') return f[4]!;
    if (metric === 'lat') return f[4]!;
  }
  return null;
}

function readReport(path: string): Report | null {
  if (!existsSync(path)) return null;
  const line = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('{"tool":"rdmajs-bench"'));
  return line ? (JSON.parse(line) as Report) : null;
}

/** Whether `ratio` meets a target such as `>=0.95` or `<=1.15`. */
function meets(target: string, ratio: number): boolean | null {
  const m = /^(>=|<=)([\d.]+)$/.exec(target);
  if (!m) return null;
  return m[1] === '>=' ? ratio >= Number(m[2]) : ratio <= Number(m[2]);
}

/** The best of several runs: the highest bandwidth or rate, the lowest latency. */
function best(runs: (number | null)[], metric: Metric): number | null {
  const xs = runs.filter((x): x is number => x !== null);
  if (xs.length === 0) return null;
  return metric === 'lat' ? Math.min(...xs) : Math.max(...xs);
}

export function buildRows(dir: string): TableRow[] {
  const manifest = readFileSync(join(dir, 'manifest.tsv'), 'utf8').trim().split('\n');
  return manifest.map((line): TableRow => {
    const [test = '?', metric = 'bw', pf = '-', rf = '-', target = '-'] = line.split('\t');
    const m = metric as Metric;
    const unit = { bw: 'MiB/s', mpps: 'Mpps', lat: 'µs', mem: 'MiB RSS growth' }[m];
    if (m === 'mem') {
      const result = rf === '-' ? undefined : readReport(join(dir, rf))?.results[0];
      if (!result) return { test, metric: m, unit, perftest: null, rdmajs: null, ratio: null, target, met: null, note: 'no rdmajs result' };
      const mem = result.memory;
      const rss = mem.after.rssMiB - mem.before.rssMiB;
      const heap = mem.after.heapUsedMiB - mem.before.heapUsedMiB;
      const gcs = mem.gc.minor + mem.gc.major;
      return {
        test,
        metric: m,
        unit,
        perftest: null,
        rdmajs: Math.round(rss * 100) / 100,
        ratio: null,
        target,
        met: gcs === 0 && rss < 4,
        note: `${result.iterations} ops: heap ${heap >= 0 ? '+' : ''}${heap.toFixed(2)} MiB, ${mem.gc.minor} minor / ${mem.gc.major} major GCs`,
      };
    }
    const files = (list: string) => (list === '-' ? [] : list.split(',').filter(Boolean));
    const perftestRuns = files(pf).map((f) => (existsSync(join(dir, f)) ? parsePerftest(readFileSync(join(dir, f), 'utf8'), m) : null));
    const rdmajsRuns = files(rf).map((f) => {
      const r = readReport(join(dir, f))?.results[0];
      if (!r) return null;
      if (m === 'bw' && 'bwMiBps' in r) return r.bwMiBps;
      if (m === 'mpps' && 'mpps' in r) return r.mpps;
      if (m === 'lat' && 'tTypicalUs' in r) return r.tTypicalUs;
      return null;
    });
    const perftest = best(perftestRuns, m);
    const rdmajs = best(rdmajsRuns, m);
    const ratio = perftest && rdmajs !== null ? rdmajs / perftest : null;
    const notes = [perftest === null ? 'no perftest figure' : '', rdmajs === null ? 'no rdmajs figure' : ''].filter(Boolean);
    return {
      test,
      metric: m,
      unit,
      perftest,
      rdmajs,
      ratio,
      target,
      met: ratio === null ? null : meets(target, ratio),
      perftestRuns,
      rdmajsRuns,
      ...(notes.length ? { note: notes.join(', ') } : {}),
    };
  });
}

function fmt(x: number | null, metric: Metric): string {
  if (x === null) return '-';
  if (metric === 'mpps') return x.toFixed(4);
  return x >= 100 ? x.toFixed(1) : x.toFixed(2);
}

export function formatTable(rows: TableRow[]): string {
  const head = ['test', 'perftest', 'rdmajs', 'ratio', 'target', 'met', 'all runs (perftest; rdmajs)'];
  const runs = (xs: (number | null)[] | undefined, m: Metric) => (xs ?? []).map((x) => fmt(x, m)).join(' / ');
  const body = rows.map((r) => [
    r.test,
    r.metric === 'mem' ? '-' : `${fmt(r.perftest, r.metric)} ${r.unit}`,
    r.metric === 'mem' ? `${r.rdmajs === null ? '-' : `${r.rdmajs >= 0 ? '+' : ''}${r.rdmajs.toFixed(2)}`} ${r.unit}` : `${fmt(r.rdmajs, r.metric)} ${r.unit}`,
    r.ratio === null ? '-' : r.ratio.toFixed(2),
    r.target,
    r.met === null ? '-' : r.met ? 'yes' : 'NO',
    r.metric === 'mem' ? '' : `${runs(r.perftestRuns, r.metric)}; ${runs(r.rdmajsRuns, r.metric)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const row = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const lines = [row(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(row)];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.test}: ${r.note}`);
  return lines.join('\n') + (notes.length ? '\n' + notes.join('\n') : '');
}

function main(argv: string[]): number {
  const dir = argv[0];
  if (!dir) {
    process.stderr.write('usage: table.js <dir with manifest.tsv>\n');
    return 2;
  }
  const rows = buildRows(dir);
  process.stdout.write(formatTable(rows) + '\n');
  const env = process.env;
  const doc = {
    tool: 'rdmajs-bench table',
    date: new Date().toISOString(),
    environment: {
      testbed: env.RDMAJS_TESTBED === '1',
      device: env.RDMAJS_DEVICE ?? null,
      node: process.version,
      kernel: existsSync('/proc/sys/kernel/osrelease') ? readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim() : null,
      cpus: existsSync('/proc/cpuinfo') ? (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length : null,
    },
    rows,
  };
  process.stdout.write(`${JSON_BEGIN}\n${JSON.stringify(doc, null, 1)}\n${JSON_END}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) process.exitCode = main(process.argv.slice(2));
