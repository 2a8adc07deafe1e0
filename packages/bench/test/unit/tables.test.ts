// Rendering: rdmajs-bench's perftest-style banner and result lines
// (src/verbs/output.ts), the summary's Markdown table (src/report/summary.ts)
// and the message-passing tables (src/mp/table.ts).
import { describe, expect, it } from 'vitest';

import type { MemoryReport } from '../../src/diagnostics/memory.js';
import type { MpPassDoc } from '../../src/mp/results.js';
import { formatMpTables, mpRows, sizeLabel } from '../../src/mp/table.js';
import { parseArgs, type Options } from '../../src/options.js';
import type { PassDoc } from '../../src/report/results.js';
import { SDP_ROWS } from '../../src/report/rows.js';
import { formatMarkdown, summarise } from '../../src/report/summary.js';
import { LINE, formatRow, header, tableHead, type Report } from '../../src/verbs/output.js';
import { runParams } from '../../src/verbs/params.js';
import { bandwidth, latency } from '../../src/verbs/stats.js';

const memory: MemoryReport = {
  before: { rssMiB: 60, heapUsedMiB: 4, heapTotalMiB: 8, externalMiB: 1 },
  after: { rssMiB: 60.5, heapUsedMiB: 4.25, heapTotalMiB: 8, externalMiB: 1 },
  gc: { minor: 0, major: 0, other: 0, pauseMs: 0 },
  waits: { majorFaults: 0, voluntarySwitches: 3 },
};

describe('rdmajs-bench output', () => {
  const o = parseArgs(['write_bw', '10.9.0.1', '-s', '64']) as Options;
  const report: Omit<Report, 'results'> = {
    tool: 'rdmajs-bench', test: 'write_bw', role: 'client', device: 'rxe0', gid: '::ffff:10.9.0.1', mtu: 1024, completions: 'busy-poll',
    params: runParams(o), maxInline: 0, node: 'v20',
  };

  it('prints a banner between two rules, centred title, the run parameters', () => {
    const lines = header(report, o).split('\n');
    expect(lines[0]).toBe(LINE);
    expect(lines.at(-1)).toBe(LINE);
    expect(lines[1]!.trim()).toBe('write_bw (rdmajs-bench)');
    expect(lines).toContain(' Role            : client of 10.9.0.1:18515');
    expect(lines).toContain(' TX depth        : 128    Post list: 1    CQ moderation: 100');
    expect(lines).toContain(' Iterations      : 5000 (after 500 warm-up)');
  });

  it('lines a bandwidth row up under its header, memory below', () => {
    const text = formatRow({ ...bandwidth(65536, 1000, 500), memory });
    const [line, mem] = text.split('\n');
    expect(tableHead('bw')).toMatch(/^ #bytes +#iterations +BW average\[MiB\/sec\]/);
    expect(line).toBe(` ${'65536'.padEnd(10)} ${'1000'.padEnd(14)} ${'125.00'.padEnd(22)} ${'1.0486'.padEnd(21)} 0.002000`);
    expect(line!.indexOf('125.00')).toBe(tableHead('bw').indexOf('BW average') );
    expect(mem).toBe('   client: heap used 4.0 -> 4.3 MiB (+0.25), RSS 60.0 -> 60.5 MiB (+0.50), GCs during the run: 0 minor, 0 major (0.0 ms), waits: 0 major faults, blocked 3 times');
  });

  it('prints a latency row with every percentile and the server memory', () => {
    const stamps = Float64Array.from([0, 1, 3, 6]);
    const text = formatRow({ ...latency(2, stamps, 4, 2), memory, serverMemory: memory });
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]!.trim().split(/\s+/)).toEqual(['2', '4', '500.00', '1500.00', '1000.00', '1000.00', '408.25', '1500.00', '1500.00']);
    expect(lines[2]).toMatch(/^ {3}server: heap used/);
  });
});

describe('summary table', () => {
  it('renders one Markdown row per measured row, with medians, spreads and the target', () => {
    const pass: PassDoc = {
      tool: 'rdmajs-bench pass', suite: 'sdp', skipped: [],
      environment: { timing: 'threaded', cpus: 2, node: 'v20', kernel: 'k', clocksource: 'tsc', testbed: true },
      measurements: [
        { row: 'ping-pong 64 B', tool: 'rstream', unit: 'usec', value: 10 },
        { row: 'ping-pong 64 B', tool: 'sdp', unit: 'usec', value: 20 },
        { row: 'ping-pong 64 B', tool: 'sdp', unit: 'usec', value: 22 },
      ],
    };
    const md = formatMarkdown(summarise([pass], SDP_ROWS)).split('\n');
    expect(md[0]).toMatch(/^\|/);
    expect(md[1]).toMatch(/^\|[-| :]+\|$/);
    expect(md[2]).toMatch(/^\| ping-pong 64 B \(µs\/xfer\) \| threaded, 2 vCPU \| rstream \| 10\.00 /);
    const sdp = md.find((l) => /\| sdp +\|/.test(l));
    expect(sdp).toMatch(/\| 21\.00 \[9\.52%\] \| 0\.48x \|/);
    expect(md.find((l) => l.includes('node net'))).toMatch(/not run/);
    // Every line has the same width: the columns are padded.
    expect(new Set(md.map((l) => l.length)).size).toBe(1);
  });
});

describe('message-passing tables', () => {
  it('labels sizes in binary units and puts each tool in its column', () => {
    expect([1, 1024, 65536, 4 << 20].map(sizeLabel)).toEqual(['1 B', '1 KiB', '64 KiB', '4 MiB']);
    const pass: MpPassDoc = {
      tool: 'rdmajs-bench mp pass',
      environment: { timing: 'deterministic', cpus: 1, node: 'v20', kernel: 'k', clocksource: 'tsc', testbed: true },
      figures: [
        { test: 'latency', tool: 'rdmajs', bytes: 8, ranks: 2, value: 13 },
        { test: 'latency', tool: 'openmpi', bytes: 8, ranks: 2, value: 10 },
      ],
      skipped: [],
      settings: [],
      info: [],
    } as unknown as MpPassDoc;
    const text = formatMpTables(mpRows(pass), 'deterministic');
    const line = text.split('\n').find((l) => l.includes('8 B'));
    expect(line).toBeDefined();
    expect(line).toMatch(/13/);
    expect(line).toMatch(/10/);
    expect(line).toMatch(/1\.3/);
  });
});
