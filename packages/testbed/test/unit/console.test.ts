// The serial console parser and the markers it shares with the job script:
// boot noise, the begin marker, the command's output and the exit marker.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import type { Testbed } from '../../src/cache.js';
import { BOOT_LOG_TAIL, ConsoleParser } from '../../src/console.js';
import { jobScript, singleJob } from '../../src/job.js';
import { BEGIN_MARKER, RXE_UP_MARKER, exitMarker, findExitMarker } from '../../src/markers.js';

function parser() {
  const seen = { output: [] as string[], events: [] as string[], boot: [] as string[] };
  const p = new ConsoleParser({
    onOutput: (text) => seen.output.push(text),
    onBegin: () => seen.events.push('begin'),
    onRxeUp: () => seen.events.push('rxe-up'),
    onBootLine: (line) => seen.boot.push(line),
  });
  return { p, seen };
}

describe('console parser', () => {
  it('keeps boot noise apart, then passes the command output on up to the exit marker', () => {
    const { p, seen } = parser();
    p.write('[    0.1] booting\r\n');
    p.write(`${RXE_UP_MARKER}\n${BEGIN_MARKER}\nhel`);
    expect(seen.output).toEqual([]);
    p.write('lo\r\nworld\n');
    p.write(`last line without newline${exitMarker(3)}\nafter the exit\n`);
    p.end();
    expect(seen.events).toEqual(['rxe-up', 'begin']);
    expect(seen.boot).toEqual(['[    0.1] booting']);
    expect(seen.output).toEqual(['hello\n', 'world\n', 'last line without newline\n']);
    expect(p.output).toBe('hello\nworld\nlast line without newline\n');
    expect(p).toMatchObject({ begun: true, exitCode: 3 });
    expect(p.bootLog).toBe('[    0.1] booting\n');
  });

  it('reads a last line without its newline when the console closes', () => {
    const { p } = parser();
    p.write(`${BEGIN_MARKER}\n${exitMarker(0)}`);
    expect(p.exitCode).toBeUndefined();
    p.end();
    expect(p.exitCode).toBe(0);
  });

  it('settle() gives the exit code of a killed VM, unless the command gave one, and ends the output', () => {
    const { p } = parser();
    p.write(`${BEGIN_MARKER}\nsome\n`);
    p.settle(124);
    p.write('more\n');
    p.end();
    expect(p).toMatchObject({ exitCode: 124, output: 'some\n' });
    p.settle(125);
    expect(p.exitCode).toBe(124);
  });

  it('a failure before the begin marker (exit 125) leaves no output and the boot log tail', () => {
    const { p, seen } = parser();
    for (let i = 0; i < 2000; i++) p.write(`boot line ${i}\n`);
    p.write(`rdmajs-testbed: could not create rxe0\n${exitMarker(125)}\n`);
    expect(p).toMatchObject({ begun: false, exitCode: 125, output: '' });
    expect(seen.output).toEqual([]);
    expect(p.bootLog.length).toBeLessThanOrEqual(BOOT_LOG_TAIL);
    expect(p.bootLog.endsWith('boot line 1999\nrdmajs-testbed: could not create rxe0\n')).toBe(true);
  });
});

describe('console markers', () => {
  const tb: Testbed = { kernelVersion: '6.1.0-0-amd64', root: '/c', vmlinuz: '/c/vmlinuz', initrd: '/c/initrd', busybox: '/c/bin/busybox' };

  it('round-trip: the exit marker the job script prints is the one the parser finds', () => {
    expect(findExitMarker(`x${exitMarker(42)}`)).toEqual({ code: 42, before: 'x' });
    expect(findExitMarker('no marker')).toBeUndefined();
    const script = jobScript(tb, singleJob({ command: ['true'] }, 'threaded'));
    expect(script).toContain(`echo ${BEGIN_MARKER}\n`);
    expect(script).toContain(`echo "${exitMarker('$(cat /run/rdmajs-rc)')}"`);
    expect(script).toContain(`echo "${exitMarker(125)}"; exit 1; }`);
  });

  it('assets/init.sh fails with the same exit marker (125)', () => {
    const init = readFileSync(new URL('../../assets/init.sh', import.meta.url), 'utf8');
    expect(init).toContain(`echo "${exitMarker(125)}"; poweroff -f; }`);
  });
});
