#!/usr/bin/env node
/**
 * The host side of `npm run bench:mp`: reads the console log of the
 * testbed pass (scripts/bench-mp.sh) and prints the tables of mp/table.ts,
 * with the timing mode, the anchors' settings and versions; writes
 * `<out>/mp.md` and `<out>/mp.json`.
 *
 *   node packages/bench/dist/mp/summary.js --out <dir> <pass log>...
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { extractMpPasses, type MpPassDoc } from './results.js';
import { formatMpTables, formatMpVerdicts, modeLabel, mpRows } from './table.js';

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return 'unknown';
  }
}

/** The report of one pass as Markdown. */
export function formatMpReport(pass: MpPassDoc, commit: string, date: string): string {
  const e = pass.environment;
  const mode = modeLabel(e.timing, e.cpus);
  const rows = mpRows(pass);
  const lines = [
    `@rdmajs/mp vs Open MPI + UCX and ucx_perftest: ${date.slice(0, 10)}, commit ${commit}, device ${e.device}, kernel ${e.kernel}, node ${e.node}`,
    `timing: ${mode}${e.testbed ? ', testbed VM' : ''}${e.timing === 'deterministic' ? ' (guest ns = guest instructions; read ratios)' : ''}`,
    '',
    formatMpTables(rows, mode),
    ...formatMpVerdicts(rows).map((l) => `- ${l}`),
    '',
    '- Figures: median of the per-iteration times of one run (osu.c / mp/osu.js: `usec`, `mb_s`); ucx_perftest: its 50.0%ile latency, its overall bandwidth (converted to 10^6 B/s).',
    '- ratio = @rdmajs/mp / Open MPI+UCX: above 1 is slower for latency and allreduce, faster for bandwidth.',
    ...pass.info.map((i) => `- ${i}`),
    ...Object.entries(pass.settings).map(([k, v]) => `- ${k}: \`${v}\``),
  ];
  return lines.join('\n') + '\n';
}

function main(argv: string[]): number {
  let out = 'bench-results';
  const logs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i] ?? out;
    else logs.push(argv[i]!);
  }
  if (logs.length === 0) {
    process.stderr.write('usage: mp-summary.js [--out dir] <pass log>...\n');
    return 2;
  }
  const passes = logs.flatMap((f) => extractMpPasses(readFileSync(f, 'utf8')));
  if (passes.length === 0) {
    process.stderr.write(`mp-summary: no mp pass found in ${logs.join(', ')}\n`);
    return 1;
  }
  const date = new Date().toISOString();
  const commit = gitCommit();
  const md = passes.map((p) => formatMpReport(p, commit, date)).join('\n');
  process.stdout.write(`\n${md}`);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'mp.md'), md);
  writeFileSync(join(out, 'mp.json'), JSON.stringify({ tool: 'rdmajs-bench mp summary', date, commit, passes: passes.map((p) => ({ ...p, rows: mpRows(p) })) }, null, 1) + '\n');
  process.stdout.write(`\nwritten to ${out}/: mp.md, mp.json\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`mp-summary: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
