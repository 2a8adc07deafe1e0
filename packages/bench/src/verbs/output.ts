/**
 * Output: a perftest-style header and result table for people, or one JSON
 * document (`--json`) for scripts such as scripts/bench.sh.
 * @module
 */
import { formatMemory, type MemoryReport } from '../diagnostics/memory.js';
import type { Options } from '../options.js';
import type { RunParams } from './params.js';
import type { BwResult, LatResult } from './stats.js';

const LINE = '-'.repeat(95);

/** One row: a size's figures and the memory evidence of both sides. */
export type Row = (BwResult | LatResult) & {
  /** The client's measured phase. */
  memory: MemoryReport;
  /** The server's, when it took part in the data path. */
  serverMemory?: MemoryReport;
};

/** The JSON document of a run. */
export interface Report {
  tool: 'rdmajs-bench';
  test: string;
  role: 'client' | 'server';
  device: string;
  gid: string;
  mtu: number;
  completions: 'busy-poll' | 'events';
  params: RunParams;
  /** Inline bytes the QP accepts. */
  maxInline: number;
  node: string;
  results: Row[];
}

/** Describes the run, like perftest's banner. */
export function header(r: Omit<Report, 'results'>, o: Options): string {
  const p = r.params;
  const title = `${r.test} (rdmajs-bench)`;
  const pad = (s: string) => s.padEnd(16);
  const lines = [
    LINE,
    ' '.repeat(Math.max(0, (LINE.length - title.length) >> 1)) + title,
    ` ${pad('Role')}: ${r.role}${o.host ? ` of ${o.host}:${o.port}` : ` on port ${o.port}`}`,
    ` ${pad('Device')}: ${r.device} port ${o.ibPort}, MTU ${r.mtu}`,
    ` ${pad('GID')}: ${r.gid}${o.gidIndex !== undefined ? ` (index ${o.gidIndex})` : ' (default: RoCE v2 IPv4)'}`,
    ` ${pad('Connection')}: RC, endpoints over TCP`,
    ` ${pad('TX depth')}: ${p.txDepth}    Post list: ${p.postList}    CQ moderation: ${p.cqMod}`,
    ` ${pad('Inline')}: up to ${Math.min(p.inlineSize, r.maxInline)} B    Completions: ${r.completions}`,
    ` ${pad('Iterations')}: ${p.durationS > 0 ? `for ${p.durationS} s` : p.iterations} (after ${p.warmup} warm-up)`,
    LINE,
  ];
  return lines.join('\n');
}

const BW_HEAD = ' #bytes     #iterations    BW average[MiB/sec]    BW average[Gb/sec]    MsgRate[Mpps]';
const LAT_HEAD =
  ' #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% percentile[usec]';

export function tableHead(kind: 'bw' | 'lat'): string {
  return kind === 'bw' ? BW_HEAD : LAT_HEAD;
}

/** One result line plus its memory evidence. */
export function formatRow(row: Row): string {
  let line: string;
  if ('bwMiBps' in row) {
    line =
      ` ${String(row.bytes).padEnd(10)} ${String(row.iterations).padEnd(14)} ${row.bwMiBps.toFixed(2).padEnd(22)} ` +
      `${row.bwGbps.toFixed(4).padEnd(21)} ${row.mpps.toFixed(6)}`;
  } else {
    const f = (x: number, w: number) => x.toFixed(2).padEnd(w);
    line =
      ` ${String(row.bytes).padEnd(6)} ${String(row.iterations).padEnd(14)} ${f(row.tMinUs, 14)} ${f(row.tMaxUs, 12)} ` +
      `${f(row.tTypicalUs, 18)} ${f(row.tAvgUs, 14)} ${f(row.tStdevUs, 15)} ${f(row.p99Us, 22)} ${row.p999Us.toFixed(2)}`;
  }
  const mem = [`   client: ${formatMemory(row.memory)}`];
  if (row.serverMemory) mem.push(`   server: ${formatMemory(row.serverMemory)}`);
  return [line, ...mem].join('\n');
}

export { LINE };
