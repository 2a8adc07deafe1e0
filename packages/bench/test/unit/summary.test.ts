import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ratioChart, sweepChart } from '../../src/report/charts.js';
import { parsePerftest, rowMeasurements } from '../../src/report/collect.js';
import { PASS_BEGIN, PASS_END, extractPasses, median, spread, type Measurement, type PassDoc, type PassEnvironment } from '../../src/report/results.js';
import { SDP_ROWS, VERBS_ROWS } from '../../src/report/rows.js';
import { formatMarkdown, summarise, sweeps } from '../../src/report/summary.js';

const env = (timing: PassEnvironment['timing'], cpus: number): PassEnvironment => ({
  timing,
  cpus,
  device: 'rxe0',
  kernel: '6.1',
  node: 'v20',
  clocksource: 'tsc',
  testbed: true,
});
const pass = (suite: 'verbs' | 'sdp', e: PassEnvironment, measurements: Measurement[], skipped: PassDoc['skipped'] = []): PassDoc => ({
  tool: 'rdmajs-bench pass',
  suite,
  environment: e,
  measurements,
  skipped,
});
const runs = (row: string, tool: string, values: (number | null)[], unit = 'MiB/s'): Measurement[] => values.map((value) => ({ row, tool, unit, value }));

describe('run statistics', () => {
  it('takes the median and the spread (max - min) / median, ignoring failed runs', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([null, 5])).toBe(5);
    expect(median([])).toBeNull();
    expect(spread([99, 100, 101])).toBeCloseTo(0.02);
    expect(spread([7])).toBe(0);
    expect(spread([null])).toBeNull();
  });

  it('reads pass documents back from a console log with prefixes', () => {
    const doc = pass('verbs', env('deterministic', 1), runs('write_bw 64 KiB', 'perftest', [1]));
    const log = `boot noise\n[a] ${PASS_BEGIN}\n${JSON.stringify(doc)}\n${PASS_END}\nmore\n`;
    expect(extractPasses(log)).toEqual([doc]);
  });
});

describe('collecting a verbs pass', () => {
  const perftestBw = `#bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]\n 65536      1000             88.10              87.99                 0.001408\n`;
  const perftestLat = ` #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% percentile[usec] \n 2       1000          25.01          80.00        29.53             30.10          1.20            31.60                 70.00\n`;

  it('parses perftest result lines per size', () => {
    expect(parsePerftest(perftestBw)).toEqual([[65536, 1000, 88.1, 87.99, 0.001408]]);
    expect(parsePerftest('no header')).toEqual([]);
  });

  it('turns a manifest line into measurements of every run, p99 rows for latency, and sizes for sweeps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'collect-'));
    writeFileSync(join(dir, 'p.1'), perftestLat);
    writeFileSync(join(dir, 'r.1'), JSON.stringify({ tool: 'rdmajs-bench', results: [{ bytes: 2, tTypicalUs: 40, p99Us: 90 }] }) + '\n');
    expect(rowMeasurements(dir, 'send_lat -e\tlat\tp.1,p.missing\tr.1')).toEqual([
      { row: 'send_lat -e', tool: 'perftest', unit: 'µs', value: 29.53 },
      { row: 'send_lat -e p99', tool: 'perftest', unit: 'µs', value: 31.6 },
      { row: 'send_lat -e', tool: 'perftest', unit: 'µs', value: null },
      { row: 'send_lat -e p99', tool: 'perftest', unit: 'µs', value: null },
      { row: 'send_lat -e', tool: 'rdmajs', unit: 'µs', value: 40 },
      { row: 'send_lat -e p99', tool: 'rdmajs', unit: 'µs', value: 90 },
    ]);
    writeFileSync(join(dir, 'p.2'), perftestBw.replace('\n 65536', '\n 2  1000 1.0 0.5 0.2\n 65536'));
    writeFileSync(join(dir, 'r.2'), JSON.stringify({ tool: 'rdmajs-bench', results: [{ bytes: 2, bwMiBps: 0.4 }, { bytes: 65536, bwMiBps: 87 }] }) + '\n');
    const sweep = rowMeasurements(dir, 'sweep\tsweep\tp.2\tr.2');
    expect(sweep.map((m) => [m.tool, m.bytes, m.value])).toEqual([
      ['perftest', 2, 0.5],
      ['perftest', 65536, 87.99],
      ['rdmajs', 2, 0.4],
      ['rdmajs', 65536, 87],
    ]);
  });
});

describe('the summary table', () => {
  it('judges a row from the medians of one pass and shows the spread', () => {
    const rows = summarise(
      [pass('verbs', env('deterministic', 1), [...runs('write_bw 64 KiB', 'perftest', [88, 88.01, 87.99]), ...runs('write_bw 64 KiB', 'rdmajs', [87, 87.01, 86.99])])],
      VERBS_ROWS,
    );
    expect(rows).toHaveLength(1);
    const line = rows[0]!.subjects[0]!;
    expect(line.ratio).toBeCloseTo(87 / 88);
    expect(line.met).toBe(true);
    expect(line.cell.spread).toBeCloseTo(0.02 / 87);
    const cells = formatMarkdown(rows).split('\n')[2]!.split('|').map((c) => c.trim());
    expect(cells.slice(1, -1)).toEqual(['write_bw 64 KiB (MiB/s)', 'deterministic, 1 vCPU', 'perftest', '88.00 [0.02%]', 'rdmajs', '87.00 [0.02%]', '0.99', '>=0.95', 'yes']);
  });

  it('never judges a busy-poll row from a one-vCPU pass, and says why a skipped row has no figure', () => {
    const oneCpu = pass('verbs', env('deterministic', 1), [...runs('send_lat 2 B', 'perftest', [4000], 'µs'), ...runs('send_lat 2 B', 'rdmajs', [4000], 'µs')]);
    const [row] = summarise([oneCpu], VERBS_ROWS);
    expect(row!.subjects[0]!.met).toBeNull();
    expect(row!.subjects[0]!.why).toMatch(/not measurable on 1 vCPU/);

    const skipped = pass('verbs', env('deterministic', 1), [], [{ row: 'write_lat 2 B', why: 'needs 2 CPUs: measured in a threaded pass, if any' }]);
    const threaded = pass('verbs', env('threaded', 2), [...runs('write_lat 2 B', 'perftest', [12], 'µs'), ...runs('write_lat 2 B', 'rdmajs', [13], 'µs')]);
    const [late] = summarise([skipped, threaded], VERBS_ROWS);
    expect(late!.subjects[0]!.cell.timing).toBe('threaded');
    expect(late!.subjects[0]!.met).toBe(true);
    const [missing] = summarise([skipped], VERBS_ROWS);
    expect(missing!.subjects[0]!.cell.missing).toMatch(/needs 2 CPUs/);
    expect(missing!.subjects[0]!.met).toBeNull();
  });

  it('compares each SDP tool with the anchor of its own pass, and computes the budget target', () => {
    const det = pass('sdp', env('deterministic', 1), [
      ...runs('ping-pong 64 B', 'rstream', [30], 'usec'),
      ...runs('ping-pong 64 B', 'rstream -T s', [23], 'usec'),
      ...runs('ping-pong 64 B', 'node net', [81], 'usec'),
      ...runs('ping-pong 64 B', 'sdp', [85], 'usec'),
    ]);
    const thr = pass('sdp', env('threaded', 2), [...runs('ping-pong 64 B', 'rstream', [60], 'usec'), ...runs('ping-pong 64 B', 'sdp --busy 1000', [120], 'usec')]);
    const [row] = summarise([det, thr], SDP_ROWS);
    const by = (tool: string) => row!.subjects.find((s) => s.cell.tool === tool)!;
    expect(by('sdp').target).toBe('<= 88.0 µs/xfer');
    expect(by('sdp').met).toBe(true);
    expect(by('sdp').ratio).toBeCloseTo(30 / 85);
    expect(by('sdp --busy 1000').ratio).toBeCloseTo(0.5);
    expect(by('sdp --busy 1000').cell.timing).toBe('threaded');
    expect(row!.anchor.median).toBe(30);
  });

  it('judges memory by growth and garbage collections', () => {
    const m: Measurement = { row: '1M x 64 B writes -l 16: memory', tool: 'rdmajs', unit: 'MiB', value: 0.5, extra: { gcs: 0, heapMiB: 0.1 }, note: 'n' };
    const [row] = summarise([pass('verbs', env('deterministic', 1), [m])], VERBS_ROWS);
    expect(row!.subjects[0]!.met).toBe(true);
    const [bad] = summarise([pass('verbs', env('deterministic', 1), [{ ...m, extra: { gcs: 3 } }])], VERBS_ROWS);
    expect(bad!.subjects[0]!.met).toBe(false);
  });
});

describe('charts', () => {
  it('draws a bar per judged subject and a line per sweep series', () => {
    const rows = summarise(
      [pass('verbs', env('deterministic', 1), [...runs('write_bw 64 KiB', 'perftest', [88, 89]), ...runs('write_bw 64 KiB', 'rdmajs', [80, 81])])],
      VERBS_ROWS,
    );
    const svg = ratioChart(rows, 'verbs <test>');
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('verbs &lt;test&gt;');
    expect(svg).toContain('write_bw 64 KiB [D]');
    expect(svg.match(/opacity="0.75"/g)).toHaveLength(1);
    expect(svg).toContain('>1/4<');

    const sweepPass = pass('verbs', env('deterministic', 1), [
      { row: 's', tool: 'perftest', unit: 'MiB/s', value: 1, bytes: 2 },
      { row: 's', tool: 'perftest', unit: 'MiB/s', value: 80, bytes: 65536 },
      { row: 's', tool: 'rdmajs', unit: 'MiB/s', value: 0.5, bytes: 2 },
    ]);
    const [s] = sweeps([sweepPass]);
    expect(s!.series.map((x) => [x.name, x.points.length])).toEqual([
      ['perftest', 2],
      ['rdmajs', 1],
    ]);
    const chart = sweepChart(s!.series, 'sweep', 'MiB/s');
    expect(chart.match(/<path /g)).toHaveLength(2);
    expect(chart).toContain('>32K<');
  });
});
