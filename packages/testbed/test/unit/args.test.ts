import { describe, expect, it } from 'vitest';

import { pairExitCode, parseFlags, parsePairArgs, parseRunArgs, prefixLines } from '../../src/args.js';
import { resolveTiming, timingPlan } from '../../src/timing.js';

describe('command line', () => {
  it('parses run flags before -- and takes everything without -- as the command', () => {
    expect(parseRunArgs(['--memory', '1024', '--cpus', '1', '--timeout', '5', '--quiet', '--', 'node', '-e', '1'])).toEqual({
      memoryMiB: 1024,
      cpus: 1,
      timeoutMs: 5000,
      quiet: true,
      command: ['node', '-e', '1'],
    });
    expect(parseRunArgs(['ibv_devinfo', '-v'])).toEqual({ command: ['ibv_devinfo', '-v'] });
    expect(() => parseRunArgs(['--'])).toThrow(/no command/);
    expect(() => parseFlags(['--timeout', 'soon'])).toThrow(/positive number/);
    expect(() => parseFlags(['--fast'])).toThrow(/unknown option --fast/);
  });

  it('splits pair commands at the first ---', () => {
    expect(parsePairArgs(['--timeout', '60', '--', 'sh', '-c', 'rping -s', '---', 'sh', '-c', 'x --- y'])).toEqual({
      timeoutMs: 60_000,
      a: ['sh', '-c', 'rping -s'],
      b: ['sh', '-c', 'x --- y'],
    });
    // Later --- belong to B's command; a -- inside a command is just an argument.
    expect(parsePairArgs(['--', 'a', '--', 'x', '---', 'b', '---'])).toEqual({ a: ['a', '--', 'x'], b: ['b', '---'] });
    expect(() => parsePairArgs(['--', 'a', 'b'])).toThrow(/two commands/);
    expect(() => parsePairArgs(['--', '---', 'b'])).toThrow(/host A/);
    expect(() => parsePairArgs(['--', 'a', '---'])).toThrow(/host B/);
  });

  it('fails when either host fails, preferring A', () => {
    expect(pairExitCode(0, 0)).toBe(0);
    expect(pairExitCode(0, 3)).toBe(3);
    expect(pairExitCode(124, 0)).toBe(124);
    expect(pairExitCode(1, 125)).toBe(1);
  });

  it('prefixes every line, empty ones too', () => {
    expect(prefixLines('[a] ', 'one\n\ntwo\n')).toBe('[a] one\n[a] \n[a] two\n');
    expect(prefixLines('[b] ', 'partial')).toBe('[b] partial');
    expect(prefixLines('[b] ', '')).toBe('');
  });
});

describe('timing', () => {
  it('parses --timing and refuses unknown modes', () => {
    expect(parseRunArgs(['--timing', 'deterministic', '--', 'true'])).toEqual({ timing: 'deterministic', command: ['true'] });
    expect(parseFlags(['--timing', 'threaded'])).toEqual({ timing: 'threaded' });
    expect(() => parseFlags(['--timing', 'fast'])).toThrow(/threaded, deterministic.*'fast'/);
    expect(() => parseFlags(['--timing'])).toThrow(/needs a mode/);
  });

  it('takes the flag, else RDMAJS_TESTBED_TIMING, else threaded', () => {
    expect(resolveTiming(undefined, {})).toBe('threaded');
    expect(resolveTiming(undefined, { RDMAJS_TESTBED_TIMING: 'deterministic' })).toBe('deterministic');
    expect(resolveTiming('threaded', { RDMAJS_TESTBED_TIMING: 'deterministic' })).toBe('threaded');
    expect(() => resolveTiming(undefined, { RDMAJS_TESTBED_TIMING: 'icount' })).toThrow(/RDMAJS_TESTBED_TIMING must be/);
  });

  it('deterministic mode is icount on one vCPU under TCG; threaded keeps the vCPUs asked for', () => {
    const d = timingPlan('deterministic', undefined);
    expect(d).toMatchObject({ forceTcg: true, cpus: 1, qemuArgs: ['-icount', 'shift=0,sleep=off'] });
    expect(d.meaning).toMatch(/guest ns = guest instructions/);
    expect(timingPlan('deterministic', 1).cpus).toBe(1);
    expect(() => timingPlan('deterministic', 2)).toThrow(RangeError);
    expect(timingPlan('threaded', undefined)).toMatchObject({ forceTcg: false, cpus: 2, qemuArgs: [] });
    expect(timingPlan('threaded', 4).cpus).toBe(4);
  });
});
