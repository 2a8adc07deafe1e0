/**
 * SVG charts of a benchmark summary, written by hand (no plotting
 * dependency): the ratio of each subject to its anchor with the spread of
 * the runs and the target, and figures by message size on log-log axes.
 * @module
 */
import type { SummaryRow } from './summary.js';

/** One line of a sweep chart: `[bytes, figure]` points in size order. */
export interface SweepSeries {
  name: string;
  points: readonly (readonly [number, number])[];
}

const FONT = 'font-family="sans-serif" font-size="12"';
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const n = (x: number) => Number(x.toFixed(1));

/**
 * Horizontal bars, one per subject with a ratio, from 1 to the ratio on a
 * log2 axis (so 0.5x and 2x are as far from parity, and a 60x tail does not
 * flatten the rest): green when its target is met, red when not, grey
 * without a verdict; a whisker from the least to the most favourable pair of
 * runs; a tick at the target.
 */
export function ratioChart(rows: readonly SummaryRow[], title: string): string {
  const bars = rows.flatMap((r) =>
    r.subjects
      .filter((s) => s.ratio !== null)
      .map((s) => ({
        label: r.subjects.length > 1 ? `${r.spec.test}: ${s.cell.tool}` : r.spec.test,
        mode: s.cell.timing === 'deterministic' ? 'D' : s.cell.timing === 'threaded' ? 'T' : 'N',
        ratio: s.ratio!,
        range: s.ratioRange,
        target: /^([<>]=)([\d.]+)$/.exec(s.target)?.[2],
        met: s.met,
        axis: r.spec.ratio === 'speed' ? `times faster than ${r.spec.anchor}` : `${r.subjects[0]?.cell.tool ?? ''} / ${r.spec.anchor}`,
      })),
  );
  const labelW = 330;
  const plotW = 440;
  const rowH = 22;
  const top = 40;
  const height = top + bars.length * rowH + 62;
  const values = bars.flatMap((b) => [b.ratio, ...(b.range ?? []), ...(b.target ? [Number(b.target)] : [])]).filter((v) => v > 0);
  const lo = Math.min(-2, Math.floor(Math.log2(Math.min(...values, 1))));
  const hi = Math.max(2, Math.ceil(Math.log2(Math.max(...values, 1))));
  const x = (v: number) => labelW + ((Math.log2(Math.max(v, 2 ** lo)) - lo) / (hi - lo)) * plotW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 40}" height="${height}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  const bottom = top + bars.length * rowH;
  for (let e = lo; e <= hi; e++) {
    const t = 2 ** e;
    out.push(`<line x1="${n(x(t))}" y1="${top - 5}" x2="${n(x(t))}" y2="${bottom}" stroke="${e === 0 ? '#444' : '#eee'}"/>`);
    out.push(`<text x="${n(x(t))}" y="${bottom + 15}" text-anchor="middle">${t >= 1 ? t : `1/${1 / t}`}</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const fill = b.met === null ? '#999' : b.met ? '#2ca02c' : '#d62728';
    const [x0, x1] = [x(1), x(b.ratio)].sort((p, q) => p - q) as [number, number];
    out.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)} [${b.mode}]</text>`);
    out.push(`<rect x="${n(x0)}" y="${y + 4}" width="${n(Math.max(1, x1 - x0))}" height="${rowH - 8}" fill="${fill}" opacity="0.75"/>`);
    if (b.range) {
      const [a, c] = b.range;
      out.push(`<line x1="${n(x(a))}" y1="${y + 11}" x2="${n(x(c))}" y2="${y + 11}" stroke="black"/>`);
      for (const v of [a, c]) out.push(`<line x1="${n(x(v))}" y1="${y + 7}" x2="${n(x(v))}" y2="${y + 15}" stroke="black"/>`);
    }
    if (b.target) out.push(`<line x1="${n(x(Number(b.target)))}" y1="${y + 2}" x2="${n(x(Number(b.target)))}" y2="${y + rowH - 2}" stroke="black" stroke-width="3"/>`);
    out.push(`<text x="${n(Math.max(x1, x(1)) + 4)}" y="${y + 15}" font-size="10">${b.ratio.toFixed(2)}</text>`);
  });
  const axis = [...new Set(bars.map((b) => b.axis))].join('; ');
  out.push(`<text x="10" y="${bottom + 32}" font-size="11">ratio (${esc(axis)}), log scale; whisker: spread of the runs; black tick: target</text>`);
  out.push(`<text x="10" y="${bottom + 47}" font-size="11">green: met, red: missed, grey: no target or not judged; [D] deterministic, [T] threaded, [N] native</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) ticks.push(10 ** e);
  return ticks;
}

function sizeLabel(b: number): string {
  return b >= 2 ** 20 ? `${b / 2 ** 20}M` : b >= 1024 ? `${b / 1024}K` : String(b);
}

/** Lines of figures by message size, both axes logarithmic. */
export function sweepChart(series: readonly SweepSeries[], title: string, unit: string): string {
  const pts = series.flatMap((s) => s.points).filter(([b, v]) => b > 0 && v > 0);
  const [left, top, w, h] = [70, 40, 520, 320];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + w + 150}" height="${top + h + 50}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  if (pts.length === 0) {
    out.push(`<text x="${left}" y="${top + 20}">no figures</text>`, '</svg>');
    return out.join('\n') + '\n';
  }
  const [bMin, bMax] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  const vMin = 10 ** Math.floor(Math.log10(Math.min(...pts.map((p) => p[1]))));
  const vMax = 10 ** Math.ceil(Math.log10(Math.max(...pts.map((p) => p[1]))));
  const lx = (b: number) => left + ((Math.log2(b) - Math.log2(bMin)) / Math.max(1, Math.log2(bMax) - Math.log2(bMin))) * w;
  const ly = (v: number) => top + h - ((Math.log10(v) - Math.log10(vMin)) / Math.max(1e-9, Math.log10(vMax) - Math.log10(vMin))) * h;
  out.push(`<rect x="${left}" y="${top}" width="${w}" height="${h}" fill="none" stroke="#888"/>`);
  for (let b = bMin; b <= bMax; b *= 4) {
    out.push(`<line x1="${n(lx(b))}" y1="${top}" x2="${n(lx(b))}" y2="${top + h}" stroke="#eee"/>`);
    out.push(`<text x="${n(lx(b))}" y="${top + h + 15}" text-anchor="middle">${sizeLabel(b)}</text>`);
  }
  for (const v of logTicks(vMin, vMax)) {
    out.push(`<line x1="${left}" y1="${n(ly(v))}" x2="${left + w}" y2="${n(ly(v))}" stroke="#eee"/>`);
    out.push(`<text x="${left - 5}" y="${n(ly(v) + 4)}" text-anchor="end">${v}</text>`);
  }
  out.push(`<text x="${left + w / 2}" y="${top + h + 35}" text-anchor="middle">message size (bytes)</text>`);
  out.push(`<text x="15" y="${top + h / 2}" transform="rotate(-90 15 ${top + h / 2})" text-anchor="middle">${esc(unit)}</text>`);
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length]!;
    const path = s.points.filter(([b, v]) => b > 0 && v > 0).map(([b, v], j) => `${j ? 'L' : 'M'}${n(lx(b))},${n(ly(v))}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const [b, v] of s.points) if (b > 0 && v > 0) out.push(`<circle cx="${n(lx(b))}" cy="${n(ly(v))}" r="2.5" fill="${c}"/>`);
    out.push(`<rect x="${left + w + 15}" y="${top + 10 + i * 20}" width="12" height="12" fill="${c}"/>`);
    out.push(`<text x="${left + w + 32}" y="${top + 20 + i * 20}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
