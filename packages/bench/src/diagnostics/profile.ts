#!/usr/bin/env node
/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) as text: the top frames by
 * self time, and the time split by where the code lives (the addon and the
 * kernel under it, @rdmajs/verbs, the benchmark, Node internals, GC). Made
 * to be run inside the testbed VM, where the .cpuprofile file itself does not
 * survive the run:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof packages/bench/dist/cli.js write_bw 10.9.0.1 ...
 *   node packages/bench/dist/diagnostics/profile.js /tmp/prof/*.cpuprofile [--top 25]
 *
 * Time spent in a native function (an addon method, and the system calls
 * it makes) is the self time of that function's frame, whose URL is empty;
 * V8 cannot tell N-API functions apart and names them all `forkInit`, shown
 * here as "(addon calls ...)". With `node --cpu-prof` (not the inspector
 * session of `rdmajs-bench --profile`) addon time is usually charged to the
 * calling JS frame instead, and TurboFan's inlining merges callees (the
 * descriptor encoder) into their callers (`postSend`).
 * @module
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a frame's code lives. */
export function category(f: CallFrame): string {
  const name = f.functionName;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8/runtime (program)';
  if (f.url === '') return 'native (addon, Node C++, syscalls)';
  if (f.url.includes('/packages/verbs/')) return '@rdmajs/verbs (JS)';
  if (f.url.includes('/packages/examples/')) return 'rdmajs-bench (JS)';
  if (f.url.startsWith('node:')) return 'Node internals (JS)';
  return 'other JS';
}

/**
 * The frame's name. Every N-API function goes through one C++ trampoline,
 * so V8's profiler names all addon calls after the first one registered
 * (for @rdmajs/native that is `forkInit`): say so instead of misleading.
 */
function label(f: CallFrame): string {
  if (f.url === '' && f.functionName === 'forkInit') return '(addon calls: postSend, poll, ...)';
  return f.functionName || '(anonymous)';
}

function where(f: CallFrame): string {
  if (f.url === '') return '(native)';
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/packages\//, '');
  return `${file}:${f.lineNumber + 1}`;
}

/** Self time per node in microseconds, from the samples and their time deltas. */
function selfTimes(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas && p.samples.length === p.timeDeltas.length) {
    // timeDeltas[i] is the time before sample i: attribute it to sample i - 1.
    for (let i = 1; i < p.samples.length; i++) {
      const id = p.samples[i - 1]!;
      self.set(id, (self.get(id) ?? 0) + p.timeDeltas[i]!);
    }
  } else {
    const hits = p.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
    const per = (p.endTime - p.startTime) / hits;
    for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * per);
  }
  return self;
}

export function summarise(p: CpuProfile, top = 20): string {
  const self = selfTimes(p);
  const byFrame = new Map<string, { frame: CallFrame; us: number }>();
  const byCategory = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const us = self.get(n.id) ?? 0;
    if (us === 0) continue;
    total += us;
    const key = `${n.callFrame.functionName}@${n.callFrame.url}:${n.callFrame.lineNumber}`;
    const entry = byFrame.get(key) ?? { frame: n.callFrame, us: 0 };
    entry.us += us;
    byFrame.set(key, entry);
    const c = category(n.callFrame);
    byCategory.set(c, (byCategory.get(c) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const lines = [`total sampled: ${(total / 1000).toFixed(0)} ms`, '', 'by where the code lives (self time):'];
  for (const [c, us] of [...byCategory].sort((a, b) => b[1] - a[1])) lines.push(`  ${pct(us)} ${ms(us)}  ${c}`);
  lines.push('', `top ${top} frames by self time:`);
  for (const { frame, us } of [...byFrame.values()].sort((a, b) => b.us - a.us).slice(0, top)) {
    lines.push(`  ${pct(us)} ${ms(us)}  ${label(frame).padEnd(34)} ${where(frame)}`);
  }
  return lines.join('\n');
}

function main(argv: string[]): number {
  const files: string[] = [];
  let top = 20;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]) || top;
    else files.push(argv[i]!);
  }
  if (files.length === 0) {
    process.stderr.write('usage: profile.js <file.cpuprofile>... [--top N]\n');
    return 2;
  }
  for (const file of files) {
    process.stdout.write(`== ${file}\n${summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top)}\n\n`);
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) process.exitCode = main(process.argv.slice(2));
