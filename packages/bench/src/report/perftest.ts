/**
 * Reading perftest's output (ib_write_bw, ib_send_lat, ...): the numbers
 * of its result table, one line per message size.
 * @module
 */

/** perftest's result lines: numbers after the `#bytes` header, one per size. */
export function parsePerftest(text: string): number[][] {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.includes('#bytes'));
  if (head < 0) return [];
  return lines
    .slice(head + 1)
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((f) => f.length >= 5 && f.every((x) => !Number.isNaN(x)));
}
