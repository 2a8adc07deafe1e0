/**
 * What each benchmark row means: its unit, which way is better, the anchor
 * it is compared with, the target from the design (shared/DESIGN.md §6) and
 * whether a one-vCPU run can measure it at all.
 *
 * The bench scripts print rows by these labels; a row measured but not
 * listed here is still shown (without a target), never dropped.
 * @module
 */

/** What a row measures. */
export type RowKind = 'bw' | 'rate' | 'lat' | 'mem';

/**
 * A target. `ratio`: the subject's figure against the anchor's, as the row's
 * ratio (see {@link RowSpec.ratio}). `budget`: the subject's latency at most
 * the anchor's plus what Node itself costs (node net − C TCP), all from the
 * same run.
 */
export type Target =
  | { kind: 'ratio'; op: '>=' | '<='; value: number }
  | { kind: 'budget'; node: string; c: string }
  | { kind: 'flat' };

/** One row of a suite's table. */
export interface RowSpec {
  test: string;
  kind: RowKind;
  unit: string;
  /** Which way is better for the figure itself. */
  better: 'higher' | 'lower';
  /** The tool the others are compared with. */
  anchor: string;
  /** The tools measured against the anchor, each with its target (if any). */
  subjects: { tool: string; target?: Target }[];
  /**
   * `value`: subject / anchor (the verbs table: < 1 is slower for
   * bandwidth, > 1 is slower for latency). `speed`: how many times faster
   * the subject is (the SDP table: > 1 is faster, whatever the unit).
   */
  ratio: 'value' | 'speed';
  /**
   * Rows that busy-poll on both sides need two CPUs: on one, the two
   * spinning processes take turns at the scheduler tick (4 ms), and the
   * figure says nothing about either tool.
   */
  needsCpus?: 2;
  /** Tools that need two CPUs even though the row as a whole does not. */
  toolsNeedingCpus?: string[];
}

const ratio = (op: '>=' | '<=', value: number): Target => ({ kind: 'ratio', op, value });
const rdmajs = (target?: Target) => [{ tool: 'rdmajs', ...(target ? { target } : {}) }];

/** A latency row (typical = median) and its p99 row, as collect.ts reports them. */
function latency(test: string, typical: number, p99?: number, needsCpus?: 2): RowSpec[] {
  const row = (t: string, target?: number): RowSpec => ({
    test: t,
    kind: 'lat',
    unit: 'µs',
    better: 'lower',
    anchor: 'perftest',
    subjects: rdmajs(target === undefined ? undefined : ratio('<=', target)),
    ratio: 'value',
    ...(needsCpus ? { needsCpus } : {}),
  });
  return [row(test, typical), row(`${test} p99`, p99)];
}

/** The rows of `npm run bench` (scripts/bench.sh): rdmajs-bench vs perftest. */
export const VERBS_ROWS: RowSpec[] = [
  ...['write_bw', 'read_bw', 'send_bw'].map(
    (t): RowSpec => ({ test: `${t} 64 KiB`, kind: 'bw', unit: 'MiB/s', better: 'higher', anchor: 'perftest', subjects: rdmajs(ratio('>=', 0.95)), ratio: 'value' }),
  ),
  { test: 'write_bw 64 B rate', kind: 'rate', unit: 'Mpps', better: 'higher', anchor: 'perftest', subjects: rdmajs(ratio('>=', 0.8)), ratio: 'value' },
  { test: 'write_bw 64 B rate, -l 16', kind: 'rate', unit: 'Mpps', better: 'higher', anchor: 'perftest', subjects: rdmajs(ratio('>=', 0.9)), ratio: 'value' },
  { test: 'atomic_bw 8 B rate', kind: 'rate', unit: 'Mpps', better: 'higher', anchor: 'perftest', subjects: rdmajs(ratio('>=', 0.8)), ratio: 'value' },
  ...latency('send_lat 2 B', 1.15, undefined, 2),
  ...latency('write_lat 2 B', 1.15, undefined, 2),
  ...latency('read_lat 2 B (full round trip)', 1.3),
  ...latency('send_lat 2 B, events (-e)', 1.3, 2),
  // No anchor: perftest allocates nothing per operation by construction.
  { test: '1M x 64 B writes -l 16: memory', kind: 'mem', unit: 'MiB RSS growth', better: 'lower', anchor: '-', subjects: rdmajs({ kind: 'flat' }), ratio: 'value' },
];

/** The rows of `npm run bench:sdp` (scripts/bench-sdp.sh). */
export const SDP_ROWS: RowSpec[] = [
  ...[
    ['64 B', true],
    ['4096 B', true],
    ['65536 B', false],
  ].map(
    ([size, small]): RowSpec => ({
      test: `ping-pong ${size as string}`,
      kind: 'lat',
      unit: 'µs/xfer',
      better: 'lower',
      anchor: 'rstream',
      subjects: [
        { tool: 'rstream -T s' },
        { tool: 'node net' },
        { tool: 'sdp', target: small ? { kind: 'budget', node: 'node net', c: 'rstream -T s' } : ratio('>=', 1) },
        // After a long warm-up (V8 at steady state; the rows above include its tier-up).
        { tool: 'node net, warm' },
        { tool: 'sdp, warm', target: small ? { kind: 'budget', node: 'node net, warm', c: 'rstream -T s' } : ratio('>=', 1) },
        { tool: 'sdp --busy 1000' },
      ],
      ratio: 'speed',
      toolsNeedingCpus: ['sdp --busy 1000'],
    }),
  ),
  {
    test: 'stream 64 KiB writes',
    kind: 'bw',
    unit: 'MiB/s',
    better: 'higher',
    anchor: 'ib_write_bw',
    subjects: [{ tool: 'node net' }, { tool: 'sdp', target: ratio('>=', 0.9) }, { tool: 'sdp, zero-copy', target: ratio('>=', 0.9) }],
    ratio: 'speed',
  },
];

/** The spec of a measured row, or a plain one for a row no spec lists. */
export function specFor(specs: readonly RowSpec[], test: string, tools: readonly string[]): RowSpec {
  const known = specs.find((s) => s.test === test);
  if (known) return known;
  const [anchor = '?', ...rest] = tools;
  return { test, kind: 'bw', unit: '', better: 'higher', anchor, subjects: rest.map((tool) => ({ tool })), ratio: 'value' };
}

/** Whether `tool` in `spec` needs more CPUs than a pass had. */
export function needsMoreCpus(spec: RowSpec, tool: string, cpus: number): boolean {
  const need = spec.needsCpus ?? (spec.toolsNeedingCpus?.includes(tool) ? 2 : 1);
  return cpus < need;
}
