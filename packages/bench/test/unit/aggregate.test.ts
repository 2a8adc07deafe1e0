// What the bench scripts used to compute inline (awk and `node -e` in
// scripts/bench-sdp.sh, a heredoc in scripts/bench-ab.sh), now in
// src/report/sdp-runs.ts and src/report/ab.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { abFigure, formatAb } from '../../src/report/ab.js';
import { collect } from '../../src/report/collect.js';
import { sdpFigure, sdpMeasurements } from '../../src/report/sdp-runs.js';

const RSTREAM = `name      bytes   xfers   iters   total       time     Gb/sec    usec/xfer
64_lat    64      1       5000    625k        0.43s      0.01      42.50
`;
const WRITE_BW = `---------------------------------------------------------------------------------------
 #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]
 65536      2000             210.11             205.37             0.003286
---------------------------------------------------------------------------------------
`;

describe('SDP pass figures', () => {
  it('reads each tool its own way', () => {
    expect(sdpFigure('rdmajs', '{"test":"pingpong","usecPerXfer":31.25}\n')).toBe(31.25);
    expect(sdpFigure('rdmajs', 'warning\n{"test":"stream","mibPerSec":812.5}\n')).toBe(812.5);
    expect(sdpFigure('rdmajs', '')).toBeNull();
    expect(sdpFigure('rdmajs', '{"oops"\n')).toBeNull();
    expect(sdpFigure('rstream', RSTREAM)).toBe(42.5);
    expect(sdpFigure('rstream', 'rstream: connect failed\n')).toBeNull();
    expect(sdpFigure('perftest', WRITE_BW)).toBe(205.37);
    expect(sdpFigure('perftest', '')).toBeNull();
  });

  it('turns the manifest into measurements, null for a run with no output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdp-runs-'));
    writeFileSync(join(dir, 'r1.client'), RSTREAM);
    writeFileSync(join(dir, 'r2.client'), '{"usecPerXfer":50}\n');
    writeFileSync(join(dir, 'r3.client'), WRITE_BW);
    writeFileSync(
      join(dir, 'manifest.tsv'),
      ['ping-pong 64 B\trstream\tusec\trstream\tr1.client', 'ping-pong 64 B\tsdp\tusec\trdmajs\tr2.client', 'stream 64 KiB writes\tib_write_bw\tMiB/s\tperftest\tr3.client', 'ping-pong 64 B\tsdp --busy 1000\tusec\trdmajs\tr9.client', ''].join('\n'),
    );
    const expected = [
      { row: 'ping-pong 64 B', tool: 'rstream', unit: 'usec', value: 42.5 },
      { row: 'ping-pong 64 B', tool: 'sdp', unit: 'usec', value: 50 },
      { row: 'stream 64 KiB writes', tool: 'ib_write_bw', unit: 'MiB/s', value: 205.37 },
      { row: 'ping-pong 64 B', tool: 'sdp --busy 1000', unit: 'usec', value: null },
    ];
    expect(sdpMeasurements(dir)).toEqual(expected);
    expect(collect('sdp', dir).measurements).toEqual(expected);
    writeFileSync(join(dir, 'manifest.tsv'), 'row\ttool\tusec\tiperf\tr1.client\n');
    expect(() => sdpMeasurements(dir)).toThrow(/unknown format 'iperf'/);
  });
});

describe('A/B summary', () => {
  const report = (r: object) => JSON.stringify({ tool: 'rdmajs-bench', results: [r] });

  it('takes the typical latency or the message rate of each client', () => {
    expect(abFigure(report({ tTypicalUs: 12.5, mpps: 9 }), '')).toEqual({ value: 12.5, unit: 'µs typical', profile: '' });
    expect(abFigure(`banner\n${report({ mpps: 1.25 })}\n`, 'CPU profile: top frames\n')).toEqual({ value: 1.25, unit: 'Mpps', profile: 'CPU profile: top frames' });
    expect(abFigure('', 'Error: peer unreachable')).toEqual({ value: null, unit: '', profile: '' });
  });

  it('prints every run, median, spread and B / A', () => {
    const f = (value: number | null) => ({ value, unit: value === null ? '' : 'Mpps', profile: '' });
    const text = formatAb({ A: [f(1), f(1.1), f(0.9)], B: [f(2), f(null), f(2.2)] }, '/tmp/a', '/tmp/b');
    expect(text.split('\n')).toEqual([
      '',
      'A = /tmp/a',
      'B = /tmp/b',
      'unit: Mpps',
      'A: 1.00000 / 1.10000 / 0.900000  median 1.00000  spread 20.00 %',
      'B: 2.00000 / failed / 2.20000  median 2.10000  spread 9.52 %',
      'B / A = 2.1000',
    ]);
  });

  it('runs as the script calls it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-'));
    writeFileSync(join(dir, 'A.1.client'), report({ mpps: 2 }) + '\n');
    writeFileSync(join(dir, 'B.1.client'), report({ mpps: 3 }) + '\n');
    const script = fileURLToPath(new URL('../../dist/report/ab.js', import.meta.url));
    const r = spawnSync(process.execPath, [script, dir, '1', 'a', 'b'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('B / A = 1.5000');
    expect(spawnSync(process.execPath, [script], { encoding: 'utf8' }).status).toBe(2);
  });
});
