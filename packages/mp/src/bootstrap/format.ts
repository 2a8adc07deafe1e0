/**
 * Text for addresses, rank sets and durations in rendezvous and launcher
 * messages: one spelling everywhere, so an error names things the way the
 * user wrote them (`[v6]:port`, `ranks 1, 2, 5-9`, `1.5 s`).
 * @module
 */
import type { HostPort } from '../types.js';

/** Formats a {@link HostPort} as `host:port`, or `[v6]:port`. Never throws. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** `rank 3`, `ranks 1, 2, 5-9` (runs compressed so 1,000 missing ranks stay one line). */
export function formatRanks(ranks: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ranks.length; ) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j]! + 1) j++;
    parts.push(j - i >= 2 ? `${ranks[i]}-${ranks[j]}` : j > i ? `${ranks[i]}, ${ranks[j]}` : `${ranks[i]}`);
    i = j + 1;
  }
  return `${ranks.length === 1 ? 'rank' : 'ranks'} ${parts.join(', ')}`;
}

/** `ms` as seconds for a message: `60 s`, `1.5 s`. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
