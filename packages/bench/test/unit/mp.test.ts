import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { collectMp } from '../../src/mp/collect.js';
import { osuLine, parseOsuArgs, parseSize, scaledIterations } from '../../src/mp/osu-args.js';
import { runOsu, type OsuComm } from '../../src/mp/osu.js';
import { MP_PASS_BEGIN, MP_PASS_END, extractMpPasses, osuFigures, parseOsuOutput, parseUcxPerftest, type MpFigure, type MpPassDoc } from '../../src/mp/results.js';
import { formatMpReport } from '../../src/mp/summary.js';
import { formatMpTables, formatMpVerdicts, mpRows, mpTarget, sizeLabel } from '../../src/mp/table.js';

const UCX_LAT = `+--------------+--------------+------------------------------+---------------------+-----------------------+
|              |              |        latency (usec)        |   bandwidth (MB/s)  |  message rate (msg/s) |
+--------------+--------------+----------+---------+---------+----------+----------+-----------+-----------+
|    Stage     | # iterations | 50.0%ile | average | overall |  average |  overall |  average  |  overall  |
+--------------+--------------+----------+---------+---------+----------+----------+-----------+-----------+
[thread 0]               445     16.500  1126.332  1126.332        0.01       0.01         888         888
Final:                  1000     15.500   134.810   134.810        0.06       0.06        7418        7418
`;

const pass = (figures: MpFigure[], skipped: MpPassDoc['skipped'] = []): MpPassDoc => ({
  tool: 'rdmajs-bench mp pass',
  environment: { timing: 'deterministic', cpus: 1, device: 'rxe0', kernel: '6.1', node: 'v20', clocksource: 'tsc', testbed: true },
  settings: { mpirun: 'mpirun --mca pml ucx' },
  figures,
  skipped,
  info: ['openmpi latency: Open MPI v4.1.4 (2 ranks)'],
});
const fig = (test: MpFigure['test'], tool: MpFigure['tool'], bytes: number, value: number | null, ranks?: number): MpFigure => ({
  test,
  tool,
  bytes,
  value,
  ...(ranks ? { ranks } : {}),
});

describe('mp-osu arguments (the same as osu.c)', () => {
  it('defaults: powers of two from 1 B (allreduce 8 B) to 4 MiB, OSU iteration counts', () => {
    const lat = parseOsuArgs(['latency']);
    expect(lat.sizes[0]).toBe(1);
    expect(lat.sizes.at(-1)).toBe(4 << 20);
    expect(lat.sizes).toHaveLength(23);
    expect(lat).toMatchObject({ iterations: 1000, minIterations: 5, warmup: 100, window: 64, jitWarmup: 0 });
    expect(parseOsuArgs(['bw']).iterations).toBe(100);
    const ar = parseOsuArgs(['allreduce']);
    expect(ar.sizes[0]).toBe(8);
    expect(ar.iterations).toBe(500);
  });

  it('takes sizes with K/M suffixes, a maximum and counts', () => {
    expect(parseOsuArgs(['bw', '-s', '1,64K,1M', '-n', '10', '-W', '8', '-w', '2', '-m', '3', '-j', '50'])).toEqual({
      test: 'bw',
      sizes: [1, 65536, 1 << 20],
      iterations: 10,
      minIterations: 3,
      warmup: 2,
      window: 8,
      jitWarmup: 50,
    });
    expect(parseOsuArgs(['latency', '-j', '0']).jitWarmup).toBe(0);
    expect(parseOsuArgs(['latency', '-M', '1K']).sizes.at(-1)).toBe(1024);
    expect(parseSize('4m')).toBe(4 << 20);
  });

  it('rejects what osu.c rejects', () => {
    expect(() => parseOsuArgs(['ping'])).toThrow(/latency, bw or allreduce/);
    expect(() => parseOsuArgs(['allreduce', '-s', '12'])).toThrow(/multiples of 8/);
    expect(() => parseOsuArgs(['bw', '-n'])).toThrow(/needs a value/);
    expect(() => parseOsuArgs(['bw', '-x', '1'])).toThrow(/unknown option/);
    expect(() => parseOsuArgs(['bw', '-n', '0'])).toThrow(/>= 1/);
    expect(() => parseSize('1G')).toThrow(/bad size/);
  });

  it('scales iterations above 8 KiB by 8 KiB / size, never below the minimum', () => {
    expect(scaledIterations(1000, 5, 8192)).toBe(1000);
    expect(scaledIterations(1000, 5, 16384)).toBe(500);
    expect(scaledIterations(1000, 5, 4 << 20)).toBe(5);
    expect(scaledIterations(100, 5, 1 << 20)).toBe(5);
  });

  it('prints figures rounded to 3 decimals, integers as they are', () => {
    expect(osuLine({ test: 'latency', bytes: 8, iters: 10, usec: 1.23456, mean_usec: 2 })).toBe('{"test":"latency","bytes":8,"iters":10,"usec":1.235,"mean_usec":2}');
  });
});

describe('mp-osu over a fake communicator', () => {
  /** Two or more ranks in one process: messages matched by (source, dest, tag) in order. */
  function fakeWorld(size: number): OsuComm[] {
    const queues = new Map<string, { data: Uint8Array[]; waiters: ((d: Uint8Array) => void)[] }>();
    const q = (k: string) => queues.get(k) ?? (queues.set(k, { data: [], waiters: [] }), queues.get(k)!);
    let arrived = 0;
    let gen: (() => void)[] = [];
    const reduced: Float64Array[] = [];
    let reduceWaiters: (() => void)[] = [];
    return Array.from({ length: size }, (_, rank) => ({
      rank,
      size,
      async send(dest: number, tag: number, data: ArrayBufferView) {
        const copy = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
        const box = q(`${rank}>${dest}:${tag}`);
        const w = box.waiters.shift();
        if (w) w(copy);
        else box.data.push(copy);
      },
      async recv({ source, tag, into }: { source?: number; tag?: number; into: ArrayBufferView }) {
        const box = q(`${source}>${rank}:${tag}`);
        const d = box.data.shift() ?? (await new Promise<Uint8Array>((r) => box.waiters.push(r)));
        new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(d);
        return { length: d.length };
      },
      barrier() {
        return new Promise<void>((resolve) => {
          gen.push(resolve);
          if (++arrived === size) {
            const g = gen;
            gen = [];
            arrived = 0;
            g.forEach((f) => f());
          }
        });
      },
      allreduce(data: Float64Array) {
        reduced.push(data);
        return new Promise<void>((resolve) => {
          reduceWaiters.push(resolve);
          if (reduced.length === size) {
            const sum = new Float64Array(data.length);
            for (const r of reduced) for (let i = 0; i < sum.length; i++) sum[i]! += r[i]!;
            for (const r of reduced) r.set(sum);
            reduced.length = 0;
            const ws = reduceWaiters;
            reduceWaiters = [];
            ws.forEach((f) => f());
          }
        });
      },
    }));
  }

  it.each([
    ['latency', 2, ['-s', '1,4K', '-n', '20']],
    ['bw', 2, ['-s', '8,64K', '-n', '4', '-W', '4']],
    ['allreduce', 4, ['-s', '8,1K', '-n', '10']],
  ] as const)('%s: rank 0 prints an info line, then one parsable line per size', async (test, size, args) => {
    const lines: string[] = [];
    const world = fakeWorld(size);
    const opts = parseOsuArgs([test, ...args]);
    await Promise.all(world.map((c) => runOsu(c, opts, (l) => lines.push(l), 'fake')));
    const recs = parseOsuOutput(lines.join('\n'));
    expect(recs[0]).toMatchObject({ test: 'info', bench: test, ranks: size });
    const figs = osuFigures(recs, 'rdmajs');
    expect(figs.map((f) => f.bytes)).toEqual(opts.sizes);
    for (const f of figs) {
      expect(f.test).toBe(test);
      expect(f.value).toBeGreaterThan(0);
      expect(f.mean).toBeGreaterThan(0);
    }
  });
});

describe('parsing what the tools print', () => {
  it('OSU lines behind any launcher prefix; other lines and cut lines skipped', () => {
    const text = [
      '[0] {"test":"info","bench":"latency","ranks":2,"impl":"x"}',
      '[1,0]<stdout>:{"test":"latency","bytes":8,"iters":1000,"usec":21.9,"mean_usec":23.4}',
      'warning: something',
      '{"test":"bw","bytes":1048576,"iters":5,"window":64,"mb_s":64.2,"mean_mb_s":61.2}',
      '{"test":"allreduce","bytes":8,"ranks":4,"iters":500,"usec":78,"mean_usec":81.2}',
      '{"test":"latency","bytes":16,"ite',
    ].join('\n');
    const recs = parseOsuOutput(text);
    expect(recs).toHaveLength(4);
    expect(osuFigures(recs, 'openmpi')).toEqual([
      { test: 'latency', tool: 'openmpi', bytes: 8, value: 21.9, mean: 23.4, iters: 1000 },
      { test: 'bw', tool: 'openmpi', bytes: 1048576, value: 64.2, mean: 61.2, iters: 5 },
      { test: 'allreduce', tool: 'openmpi', bytes: 8, value: 78, mean: 81.2, iters: 500, ranks: 4 },
    ]);
  });

  it("ucx_perftest's Final line: median latency, bandwidth in 10^6 B/s", () => {
    const r = parseUcxPerftest(UCX_LAT)!;
    expect(r).toMatchObject({ iters: 1000, latencyUsec: 15.5, latencyAvgUsec: 134.81, msgRate: 7418 });
    expect(r.mbPerSec).toBeCloseTo(0.06 * 1.048576, 6);
    expect(parseUcxPerftest('ERROR: Destination is unreachable')).toBeNull();
  });

  it('collects a bench directory into a pass document, and the host reads it back from a console log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-collect-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'lat.openmpi'), '{"test":"info","bench":"latency","ranks":2,"impl":"Open MPI v4.1.4"}\n{"test":"latency","bytes":8,"iters":10,"usec":30,"mean_usec":31}\n');
    writeFileSync(join(dir, 'lat8.ucx'), UCX_LAT);
    writeFileSync(join(dir, 'bw.ucx'), 'Fatal: UD endpoint timeout\n');
    writeFileSync(
      join(dir, 'manifest.tsv'),
      ['latency\topenmpi\tosu\t-\tlat.openmpi', 'latency\tucx_perftest\tucx\t8\tlat8.ucx', 'bw\tucx_perftest\tucx\t1048576\tbw.ucx', 'latency\trdmajs\tosu\t-\tmissing'].join('\n') + '\n',
    );
    writeFileSync(join(dir, 'skipped.tsv'), 'allreduce\trdmajs\t@rdmajs/mp is not built\n');
    writeFileSync(join(dir, 'settings.tsv'), 'UCX_TLS\trc_verbs,ud_verbs:aux\n');
    const doc = collectMp(dir);
    expect(doc.figures).toEqual([
      { test: 'latency', tool: 'openmpi', bytes: 8, value: 30, mean: 31, iters: 10 },
      { test: 'latency', tool: 'ucx_perftest', bytes: 8, value: 15.5, mean: 134.81, iters: 1000 },
      { test: 'bw', tool: 'ucx_perftest', bytes: 1048576, value: null },
    ]);
    expect(doc.skipped).toEqual([{ test: 'allreduce', tool: 'rdmajs', why: '@rdmajs/mp is not built' }]);
    expect(doc.settings).toEqual({ UCX_TLS: 'rc_verbs,ud_verbs:aux' });
    expect(doc.info).toEqual(['openmpi latency: Open MPI v4.1.4 (2 ranks)']);
    const log = `[rdmajs-testbed] boot\nnoise\n${MP_PASS_BEGIN}\n${JSON.stringify(doc)}\n${MP_PASS_END}\nafter\n`;
    expect(extractMpPasses(log)).toEqual([JSON.parse(JSON.stringify(doc))]);
  });
});

describe('the mp table', () => {
  it('targets: latency up to 8 KiB, bandwidth from 1 MiB, allreduce at 1 MiB on 4 ranks', () => {
    expect(mpTarget('latency', 8192)).toEqual({ op: '<=', value: 1.3 });
    expect(mpTarget('latency', 16384)).toBeUndefined();
    expect(mpTarget('bw', 512 << 10)).toBeUndefined();
    expect(mpTarget('bw', 4 << 20)).toEqual({ op: '>=', value: 0.9 });
    expect(mpTarget('allreduce', 1 << 20, 4)).toEqual({ op: '<=', value: 1.2 });
    expect(mpTarget('allreduce', 1 << 20, 2)).toBeUndefined();
    expect(mpTarget('allreduce', 2 << 20, 4)).toBeUndefined();
  });

  it('ratios to Open MPI + UCX and verdicts; a skipped tool says why', () => {
    const p = pass(
      [
        fig('latency', 'openmpi', 8, 20),
        fig('latency', 'rdmajs', 8, 24),
        fig('latency', 'ucx_perftest', 8, 15),
        fig('latency', 'openmpi', 64, 20),
        fig('latency', 'ucx_perftest', 64, null),
        fig('latency', 'rdmajs', 64, 30),
        fig('bw', 'openmpi', 1 << 20, 100),
        fig('bw', 'rdmajs', 1 << 20, 95),
        fig('allreduce', 'openmpi', 1 << 20, 1000, 4),
      ],
      [{ test: 'allreduce', tool: 'rdmajs', why: 'rdmajs-run failed' }],
    );
    const rows = mpRows(p);
    expect(rows.map((r) => [r.test, r.bytes, r.ratio, r.met])).toEqual([
      ['latency', 8, 1.2, true],
      ['latency', 64, 1.5, false],
      ['bw', 1 << 20, 0.95, true],
      ['allreduce', 1 << 20, null, null],
    ]);
    expect(rows[3]!.missing.rdmajs).toBe('rdmajs-run failed');
    expect(rows[2]!.missing.ucx_perftest).toBe('not run');
    expect(rows[1]!.missing.ucx_perftest).toBe('no figure (the run failed)');
    expect(mpRows(pass([fig('bw', 'ucx_perftest', 8, 1), fig('bw', 'openmpi', 16, 1)]))[1]!.missing.ucx_perftest).toBeUndefined();
    const md = formatMpTables(rows, 'deterministic, 1 vCPU');
    expect(md).toContain('### latency (µs, deterministic, 1 vCPU, 2 ranks)');
    expect(md).toMatch(/\| 8 B +\| 24\.00 +\| 20\.00 +\| 15\.00 +\| 1\.20x \| <= 1\.3x \| yes +\|/);
    expect(md).toContain('**no**');
    expect(md).toContain('@rdmajs/mp: rdmajs-run failed');
    expect(md).not.toMatch(/allreduce[^\n]*ucx_perftest/);
    expect(formatMpVerdicts(rows)).toEqual([
      'latency <= 8 KiB <= 1.3x Open MPI+UCX: 1/2 sizes met; worst 1.50x at 64 B',
      'bandwidth >= 1 MiB >= 0.9x Open MPI+UCX: 1/1 sizes met; worst 0.95x at 1 MiB',
      'allreduce 1 MiB <= 1.2x Open MPI+UCX: not judged (a figure is missing)',
    ]);
    const report = formatMpReport(p, 'abc1234', '2026-12-03T00:00:00Z');
    expect(report).toContain('timing: deterministic, 1 vCPU, testbed VM');
    expect(report).toContain('- mpirun: `mpirun --mca pml ucx`');
  });

  it('size labels', () => {
    expect([1, 1024, 65536, 1 << 20, 1536].map(sizeLabel)).toEqual(['1 B', '1 KiB', '64 KiB', '1 MiB', '1536 B']);
  });
});
