#!/usr/bin/env node
/**
 * The inner end of a benchmark pass: reads what the runs of a bench script
 * left in one directory and prints the pass document (results.ts) between
 * its markers, for summary.ts on the host to read back from the console.
 *
 *   node packages/bench/dist/report/collect.js verbs <dir>   # perftest + rdmajs-bench outputs
 *   node packages/bench/dist/report/collect.js sdp <dir>     # runs listed in <dir>/manifest.tsv
 *
 * Verbs: `<dir>/manifest.tsv` lists one line per row, tab-separated:
 * `label  metric  perftest-outputs  rdmajs-jsons`, metric `bw` (MiB/s),
 * `mpps`, `lat` (typical µs; the p99 becomes the row `<label> p99`),
 * `sweep` (MiB/s per size of a `-a` run) or `mem` (the rdmajs run's RSS
 * growth); outputs are comma-separated file names, one per run, `-` for none.
 * `<dir>/skipped.tsv` lists what the pass left out: `label  tool  why`
 * (an empty tool: the whole row).
 *
 * SDP: `<dir>/manifest.tsv` lists one line per run (sdp-runs.ts reads
 * each client's output); `skipped.tsv` as above.
 * @module
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Report } from '../verbs/output.js';
import { parsePerftest } from './perftest.js';
import { PASS_BEGIN, PASS_END, type Measurement, type PassDoc, type PassEnvironment, type Skipped } from './results.js';
import { sdpMeasurements } from './sdp-runs.js';

export { parsePerftest } from './perftest.js';

type Metric = 'bw' | 'mpps' | 'lat' | 'sweep' | 'mem';

// Columns of perftest's result lines.
// BW:  #bytes #iterations BW-peak BW-average MsgRate
// LAT: #bytes #iterations t_min t_max t_typical t_avg t_stdev p99 p99.9
const BW_AVG = 3;
const MSG_RATE = 4;
const LAT_TYPICAL = 4;
const LAT_P99 = 7;

function readReport(path: string): Report | null {
  if (!existsSync(path)) return null;
  const line = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('{"tool":"rdmajs-bench"'));
  return line ? (JSON.parse(line) as Report) : null;
}

const UNITS: Record<Metric, string> = { bw: 'MiB/s', mpps: 'Mpps', lat: 'µs', sweep: 'MiB/s', mem: 'MiB RSS growth' };

/** The measurements of one manifest line (one row, every run of both tools). */
export function rowMeasurements(dir: string, line: string): Measurement[] {
  const [row = '?', metric = 'bw', pf = '-', rf = '-'] = line.split('\t');
  const m = metric as Metric;
  const unit = UNITS[m];
  const files = (list: string) => (list === '-' ? [] : list.split(',').filter(Boolean));
  const out: Measurement[] = [];
  for (const f of files(pf)) {
    const lines = existsSync(join(dir, f)) ? parsePerftest(readFileSync(join(dir, f), 'utf8')) : [];
    if (m === 'sweep') {
      for (const l of lines) out.push({ row, tool: 'perftest', unit, value: l[BW_AVG]!, bytes: l[0]! });
      continue;
    }
    const first = lines[0];
    const value = first === undefined ? null : m === 'bw' ? first[BW_AVG]! : m === 'mpps' ? first[MSG_RATE]! : first[LAT_TYPICAL]!;
    out.push({ row, tool: 'perftest', unit, value });
    if (m === 'lat') out.push({ row: `${row} p99`, tool: 'perftest', unit, value: first?.[LAT_P99] ?? null });
  }
  for (const f of files(rf)) {
    const results = readReport(join(dir, f))?.results ?? [];
    const r = results[0];
    if (m === 'sweep') {
      for (const x of results) if ('bwMiBps' in x) out.push({ row, tool: 'rdmajs', unit, value: x.bwMiBps, bytes: x.bytes });
    } else if (m === 'mem') {
      if (!r) {
        out.push({ row, tool: 'rdmajs', unit, value: null });
        continue;
      }
      const mem = r.memory;
      const heap = mem.after.heapUsedMiB - mem.before.heapUsedMiB;
      out.push({
        row,
        tool: 'rdmajs',
        unit,
        value: Math.round((mem.after.rssMiB - mem.before.rssMiB) * 100) / 100,
        note: `${r.iterations} ops: heap ${heap >= 0 ? '+' : ''}${heap.toFixed(2)} MiB, ${mem.gc.minor} minor / ${mem.gc.major} major GCs`,
        extra: { heapMiB: heap, gcs: mem.gc.minor + mem.gc.major },
      });
    } else {
      let value: number | null = null;
      if (r && m === 'bw' && 'bwMiBps' in r) value = r.bwMiBps;
      if (r && m === 'mpps' && 'mpps' in r) value = r.mpps;
      if (r && m === 'lat' && 'tTypicalUs' in r) value = r.tTypicalUs;
      out.push({ row, tool: 'rdmajs', unit, value });
      if (m === 'lat') out.push({ row: `${row} p99`, tool: 'rdmajs', unit, value: r && 'p99Us' in r ? r.p99Us : null });
    }
  }
  return out;
}

function readSkipped(dir: string): Skipped[] {
  const path = join(dir, 'skipped.tsv');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [row = '?', tool = '', why = ''] = l.split('\t');
      return { row, ...(tool ? { tool } : {}), why };
    });
}

function read(path: string, fallback = 'unknown'): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/** Where this pass runs; the testbed says its timing mode in `$RDMAJS_TESTBED_TIMING`. */
export function passEnvironment(env: NodeJS.ProcessEnv = process.env): PassEnvironment {
  const timing = env.RDMAJS_TESTBED_TIMING;
  return {
    timing: timing === 'deterministic' || timing === 'threaded' ? timing : 'native',
    cpus: cpus().length,
    device: env.RDMAJS_DEVICE ?? 'unknown',
    kernel: read('/proc/sys/kernel/osrelease'),
    node: process.version,
    clocksource: read('/sys/devices/system/clocksource/clocksource0/current_clocksource'),
    testbed: env.RDMAJS_TESTBED === '1',
  };
}

/** The pass document of a verbs or SDP bench directory. */
export function collect(suite: 'verbs' | 'sdp', dir: string): PassDoc {
  let measurements: Measurement[];
  if (suite === 'verbs') {
    const manifest = existsSync(join(dir, 'manifest.tsv')) ? readFileSync(join(dir, 'manifest.tsv'), 'utf8') : '';
    measurements = manifest.split('\n').filter(Boolean).flatMap((l) => rowMeasurements(dir, l));
  } else {
    measurements = sdpMeasurements(dir);
  }
  return { tool: 'rdmajs-bench pass', suite, environment: passEnvironment(), measurements, skipped: readSkipped(dir) };
}

function main(argv: string[]): number {
  const [suite, dir] = argv;
  if ((suite !== 'verbs' && suite !== 'sdp') || !dir) {
    process.stderr.write('usage: collect.js verbs|sdp <dir>\n');
    return 2;
  }
  process.stdout.write(`${PASS_BEGIN}\n${JSON.stringify(collect(suite, dir))}\n${PASS_END}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) process.exitCode = main(process.argv.slice(2));
