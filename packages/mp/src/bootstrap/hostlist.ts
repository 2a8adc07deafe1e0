/**
 * Slurm's compressed host lists (`SLURM_JOB_NODELIST=node[01-04,07],login`)
 * expanded into host names. Pure.
 *
 * Grammar, as Slurm's `scontrol show hostnames` reads it: items separated by
 * commas outside brackets; an item is literal text with any number of
 * bracketed range lists, each a comma-separated list of `n` or `lo-hi`. A
 * range keeps the zero padding of its lower bound (`[08-11]` gives `08 09 10
 * 11`). Several brackets in one item multiply, the leftmost varying slowest
 * (`r[1-2]n[1-2]` gives `r1n1 r1n2 r2n1 r2n2`).
 * @module
 */
import { MpError } from '../errors.js';

/** Default bound on the number of names {@link expandHostlist} returns. */
export const MAX_HOSTLIST_HOSTS = 65_536;

type Segment = string | string[];

function bad(name: string, text: string, why: string): never {
  throw new MpError({ code: 'ELAUNCH' }, `${name}=${JSON.stringify(text)} is not a Slurm host list: ${why}`);
}

/** Splits at commas outside brackets; checks that brackets pair up and do not nest. */
function items(text: string, name: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') {
      if (depth > 0) bad(name, text, 'nested "["');
      depth = 1;
    } else if (c === ']') {
      if (depth === 0) bad(name, text, 'a "]" without its "["');
      depth = 0;
    } else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth > 0) bad(name, text, 'a "[" without its "]"');
  out.push(text.slice(start));
  return out;
}

/** Every value of one bracket's range list, as text with its padding. */
function rangeValues(list: string, limit: number, name: string, text: string): string[] {
  const out: string[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) bad(name, text, `"[${list}]" holds ${JSON.stringify(part)}, not a number or lo-hi range`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) bad(name, text, `${JSON.stringify(part)} is out of range`);
    if (hi < lo) bad(name, text, `the range ${JSON.stringify(part)} runs backwards`);
    if (out.length + (hi - lo + 1) > limit) bad(name, text, `it names more than ${limit} hosts`);
    const width = m[1]!.length;
    for (let n = lo; n <= hi; n++) out.push(String(n).padStart(width, '0'));
  }
  return out;
}

function* expandItem(segments: readonly Segment[], at: number, prefix: string): Generator<string> {
  if (at === segments.length) {
    yield prefix;
    return;
  }
  const seg = segments[at]!;
  if (typeof seg === 'string') {
    yield* expandItem(segments, at + 1, prefix + seg);
    return;
  }
  for (const value of seg) yield* expandItem(segments, at + 1, prefix + value);
}

/**
 * Lazily yields the host names of a Slurm host list, in Slurm's order
 * (duplicates kept). The whole list is checked before the first name comes.
 * @param name the variable it came from, for error messages
 * @param limit most names any one bracket may produce (and so the first name costs at most this much)
 * @throws MpError `'ELAUNCH'` naming `name` for an empty list or item, unbalanced or nested brackets, a bracket
 *   holding anything but numbers and `lo-hi` ranges, a backwards range, or a bracket over `limit` names.
 */
export function* hostlistNames(text: string, name = 'SLURM_JOB_NODELIST', limit = MAX_HOSTLIST_HOSTS): Generator<string> {
  const trimmed = text.trim();
  if (trimmed === '') bad(name, text, 'it is empty');
  const parsed: Segment[][] = [];
  for (const item of items(trimmed, name)) {
    if (item.trim() === '') bad(name, text, 'an empty item between commas');
    if (/\s/.test(item.trim())) bad(name, text, `${JSON.stringify(item)} contains white space`);
    const segments: Segment[] = [];
    for (const piece of item.trim().split(/(\[[^\]]*\])/)) {
      if (piece === '') continue;
      segments.push(piece.startsWith('[') ? rangeValues(piece.slice(1, -1), limit, name, text) : piece);
    }
    parsed.push(segments);
  }
  for (const segments of parsed) yield* expandItem(segments, 0, '');
}

/**
 * Every host name of a Slurm host list (see the module comment).
 * @throws MpError `'ELAUNCH'` as {@link hostlistNames}, and when the list names more than `limit` hosts in all.
 */
export function expandHostlist(text: string, name = 'SLURM_JOB_NODELIST', limit = MAX_HOSTLIST_HOSTS): string[] {
  const out: string[] = [];
  for (const host of hostlistNames(text, name, limit)) {
    if (out.length === limit) bad(name, text, `it names more than ${limit} hosts`);
    out.push(host);
  }
  return out;
}

/**
 * The first host of a Slurm host list, without expanding the rest.
 * @throws MpError `'ELAUNCH'` as {@link hostlistNames}.
 */
export function firstHost(text: string, name = 'SLURM_JOB_NODELIST'): string {
  for (const host of hostlistNames(text, name)) return host;
  // hostlistNames yields at least one name or throws; this line is for the type checker.
  return bad(name, text, 'it names no host');
}
