#!/usr/bin/env node
/**
 * The inner end of a message-passing benchmark pass (scripts/bench-mp.sh,
 * inside the VM): reads what the runs left in one directory and prints the
 * pass document (mp/results.ts) between its markers, for mp/summary.ts on
 * the host to read back from the console.
 *
 *   node packages/bench/dist/mp/collect.js <dir>
 *
 * `<dir>/manifest.tsv`, one line per run, tab-separated:
 * `test  tool  format  bytes  file`: format `osu` (osu.c / mp/osu.ts JSON
 * lines, every size; bytes `-`) or `ucx` (one ucx_perftest client output at
 * `bytes`). `<dir>/skipped.tsv`: `test  tool  why`. `<dir>/settings.tsv`:
 * `name  value` (how the anchors ran).
 * @module
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { passEnvironment } from '../report/collect.js';
import { MP_PASS_BEGIN, MP_PASS_END, osuFigures, parseOsuOutput, parseUcxPerftest, type MpFigure, type MpPassDoc, type MpTest, type MpTool } from './results.js';

function lines(path: string): string[][] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));
}

function text(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** The figures of one manifest line; a run that printed nothing gives a null figure (osu: none). */
export function manifestFigures(dir: string, fields: readonly string[]): { figures: MpFigure[]; info: string[] } {
  const [test = 'latency', tool = 'rdmajs', format = 'osu', bytes = '-', file = ''] = fields;
  const out = text(join(dir, file));
  if (format === 'ucx') {
    const r = parseUcxPerftest(out);
    const t = test as MpTest;
    const value = r === null ? null : t === 'bw' ? r.mbPerSec : r.latencyUsec;
    const f: MpFigure = { test: t, tool: tool as MpTool, bytes: Number(bytes), value };
    if (r) {
      f.iters = r.iters;
      f.mean = t === 'bw' ? r.mbPerSec : r.latencyAvgUsec;
    }
    return { figures: [f], info: [] };
  }
  const records = parseOsuOutput(out);
  const info = records.filter((r) => r.test === 'info').map((r) => `${tool} ${r.bench}: ${r.impl ?? '?'} (${r.ranks} ranks)`);
  return { figures: osuFigures(records, tool as MpTool), info };
}

/** The pass document of a bench-mp directory. */
export function collectMp(dir: string): MpPassDoc {
  const figures: MpFigure[] = [];
  const info: string[] = [];
  for (const l of lines(join(dir, 'manifest.tsv'))) {
    const r = manifestFigures(dir, l);
    figures.push(...r.figures);
    for (const i of r.info) if (!info.includes(i)) info.push(i);
  }
  const skipped = lines(join(dir, 'skipped.tsv')).map(([test = '?', tool = '', why = '']) => ({ test, tool, why }));
  const settings = Object.fromEntries(lines(join(dir, 'settings.tsv')).map(([k = '', v = '']) => [k, v]));
  return { tool: 'rdmajs-bench mp pass', environment: passEnvironment(), settings, figures, skipped, info };
}

function main(argv: string[]): number {
  const [dir] = argv;
  if (!dir) {
    process.stderr.write('usage: mp-collect.js <dir>\n');
    return 2;
  }
  process.stdout.write(`${MP_PASS_BEGIN}\n${JSON.stringify(collectMp(dir))}\n${MP_PASS_END}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) process.exitCode = main(process.argv.slice(2));
