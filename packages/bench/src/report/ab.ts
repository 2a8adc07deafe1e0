#!/usr/bin/env node
/**
 * The end of scripts/bench-ab.sh (one rdmajs-bench test, two builds, run
 * alternately in one boot): reads each client's JSON report and, with
 * `--profile`, its CPU profile summary, and prints every run, the median
 * and spread of each side, and B / A.
 *
 *   node packages/bench/dist/report/ab.js <dir> <repeat> <tree A> <tree B>
 *
 * `<dir>/<A|B>.<run>.client` holds a client's stdout, `.err` its stderr.
 * The figure is the typical latency (µs) of a latency test, the message
 * rate (Mpps) of a bandwidth test.
 * @module
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { median, spread } from './results.js';

/** One run's figure (null: no report), its unit, and its profile summary ('' without --profile). */
export interface AbFigure {
  value: number | null;
  unit: string;
  profile: string;
}

/** The figure of one client run, from its stdout and stderr. */
export function abFigure(stdout: string, stderr: string): AbFigure {
  const line = stdout.split('\n').find((l) => l.startsWith('{"tool":"rdmajs-bench"'));
  const res = line ? (JSON.parse(line) as { results?: Record<string, number>[] }).results?.[0] : undefined;
  // The client writes its profile summary (--profile) to stderr.
  const profile = stderr.includes('CPU profile') ? stderr.trim() : '';
  if (!res) return { value: null, unit: '', profile };
  return 'tTypicalUs' in res ? { value: res.tTypicalUs!, unit: 'µs typical', profile } : { value: res.mpps ?? null, unit: 'Mpps', profile };
}

/** The report: each side's runs, median and spread, then B / A. */
export function formatAb(runs: { A: AbFigure[]; B: AbFigure[] }, treeA: string, treeB: string): string {
  const out: string[] = [];
  const show = (x: number | null) => (x === null ? 'failed' : x.toPrecision(6));
  const unit = [...runs.A, ...runs.B].find((f) => f.unit !== '')?.unit ?? '';
  for (let r = 0; r < Math.max(runs.A.length, runs.B.length); r++) {
    for (const side of ['A', 'B'] as const) {
      const f = runs[side][r];
      if (f?.profile) out.push(`--- ${side} run ${r + 1} ---\n${f.profile}`);
    }
  }
  out.push('', `A = ${treeA}`, `B = ${treeB}`, `unit: ${unit}`);
  const medians: Record<'A' | 'B', number | null> = { A: null, B: null };
  for (const side of ['A', 'B'] as const) {
    const values = runs[side].map((f) => f.value);
    const m = median(values);
    const s = spread(values);
    medians[side] = m;
    out.push(`${side}: ${values.map(show).join(' / ')}  median ${show(m)}  spread ${s === null ? '-' : (s * 100).toFixed(2) + ' %'}`);
  }
  if (medians.A && medians.B) out.push(`B / A = ${(medians.B / medians.A).toFixed(4)}`);
  return out.join('\n');
}

function main(argv: string[]): number {
  const [dir, repeat, a, b] = argv;
  const n = Number(repeat);
  if (!dir || !Number.isInteger(n) || n < 1 || a === undefined || b === undefined) {
    process.stderr.write('usage: ab.js <dir> <repeat> <tree A> <tree B>\n');
    return 2;
  }
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  const runs = { A: [] as AbFigure[], B: [] as AbFigure[] };
  for (let r = 1; r <= n; r++) for (const side of ['A', 'B'] as const) runs[side].push(abFigure(read(`${side}.${r}.client`), read(`${side}.${r}.err`)));
  process.stdout.write(formatAb(runs, a, b) + '\n');
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) process.exitCode = main(process.argv.slice(2));
