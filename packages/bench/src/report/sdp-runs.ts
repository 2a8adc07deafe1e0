/**
 * The figures of an SDP benchmark pass (scripts/bench-sdp.sh), read from
 * what each client printed. The script only lists its runs, one line each
 * in `<dir>/manifest.tsv`, tab-separated: `row  tool  unit  format  file`,
 * where format says which program wrote `file`:
 *
 * - `rdmajs`: `rdmajs-bench sdp --json` (`usecPerXfer` or `mibPerSec`);
 * - `rstream`: rsockets' rstream (the last column of its last result line);
 * - `perftest`: ib_write_bw (BW average of its last result line).
 *
 * A run that printed no figure (it failed or timed out) counts as null.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parsePerftest } from './perftest.js';
import type { Measurement } from './results.js';

/** Which program wrote a client's output. */
export type SdpFormat = 'rdmajs' | 'rstream' | 'perftest';
const FORMATS: readonly SdpFormat[] = ['rdmajs', 'rstream', 'perftest'];

/** perftest's BW average column (#bytes #iterations BW-peak BW-average MsgRate). */
const BW_AVG = 3;

/** The figure a client printed, or null when it printed none. */
export function sdpFigure(format: SdpFormat, text: string): number | null {
  if (format === 'rdmajs') {
    for (const line of text.split('\n').reverse()) {
      if (!line.startsWith('{')) continue;
      try {
        const r = JSON.parse(line) as { usecPerXfer?: unknown; mibPerSec?: unknown };
        const v = r.usecPerXfer ?? r.mibPerSec;
        return typeof v === 'number' && Number.isFinite(v) ? v : null;
      } catch {
        return null;
      }
    }
    return null;
  }
  if (format === 'rstream') {
    // name bytes xfers iters total time MB/sec usec/xfer: 8 columns or more, after a header starting with `name`.
    let v: number | null = null;
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 8 && f[0] !== 'name') {
        const x = Number(f.at(-1));
        v = Number.isFinite(x) ? x : null;
      }
    }
    return v;
  }
  const rows = parsePerftest(text);
  return rows.at(-1)?.[BW_AVG] ?? null;
}

/** The measurements of the runs a `manifest.tsv` lists, relative to `dir`. */
export function sdpMeasurements(dir: string): Measurement[] {
  const path = join(dir, 'manifest.tsv');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [row = '?', tool = '?', unit = '', format = '', file = ''] = line.split('\t');
      if (!FORMATS.includes(format as SdpFormat)) throw new Error(`manifest.tsv: unknown format '${format}' in: ${line}`);
      const out = join(dir, file);
      const value = file !== '' && existsSync(out) ? sdpFigure(format as SdpFormat, readFileSync(out, 'utf8')) : null;
      return { row, tool, unit, value };
    });
}
