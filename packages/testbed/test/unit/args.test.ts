import { describe, expect, it } from 'vitest';

import { UsageError, pairExitCode, parseFlags, parseNoArgs, parsePairArgs, parseRunArgs, prefixLines } from '../../src/args.js';
import { resolveTiming, timingPlan } from '../../src/timing.js';

describe('command line', () => {
  it('parses run options before -- and takes everything without -- as the command', () => {
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

  it('reads options up to the first non-option: the rest is the command, untouched', () => {
    expect(parseRunArgs(['--memory', '4096', 'ls', '--memory', '1'])).toEqual({ memoryMiB: 4096, command: ['ls', '--memory', '1'] });
    expect(parseRunArgs(['--timeout=2.5', 'sh', '-c', 'true'])).toEqual({ timeoutMs: 2500, command: ['sh', '-c', 'true'] });
    expect(parseRunArgs(['--', '--memory', '1'])).toEqual({ command: ['--memory', '1'] });
    expect(parseRunArgs(['--', 'x', '--help'])).toEqual({ command: ['x', '--help'] });
  });

  it('rejects unknown options, missing values and bad numbers as usage errors', () => {
    const bad: [string[], RegExp][] = [
      [['--bogus', 'ls'], /unknown option --bogus/],
      [['--memory'], /--memory needs a size/],
      [['--memory', '4096'], /no command/],
      [['--memory', '1.5', 'ls'], /whole number, got '1.5'/],
      [['--cpus', '0', 'ls'], /positive whole number, got '0'/],
      [['--cpus', '0x10', 'ls'], /got '0x10'/],
      [['--timeout', '', 'ls'], /positive number of seconds/],
      [['--timeout', '-1', 'ls'], /positive number of seconds/],
      [['--quiet=yes', 'ls'], /takes no value/],
      [['--timing', 'icount', 'ls'], /threaded, deterministic/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseRunArgs(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parseRunArgs(argv), argv.join(' ')).toThrow(message);
    }
  });

  it('answers -h/--help before the command only', () => {
    expect(parseRunArgs(['-h'])).toEqual({ help: true });
    expect(parseRunArgs(['--timeout', '5', '--help', 'ls'])).toEqual({ help: true });
    expect(parsePairArgs(['--help'])).toEqual({ help: true });
    expect(parseNoArgs('doctor', ['--help'])).toEqual({ help: true });
    expect(parseNoArgs('doctor', [])).toEqual({});
    expect(() => parseNoArgs('prepare', ['--force'])).toThrow(/unknown option --force/);
    expect(() => parseNoArgs('doctor', ['now'])).toThrow(/takes no arguments/);
  });

  it('splits pair commands at the first ---', () => {
    expect(parsePairArgs(['--timeout', '60', '--', 'sh', '-c', 'rping -s', '---', 'sh', '-c', 'x --- y'])).toEqual({
      timeoutMs: 60_000,
      a: ['sh', '-c', 'rping -s'],
      b: ['sh', '-c', 'x --- y'],
    });
    // Later --- belong to B's command; a -- inside a command is just an argument.
    expect(parsePairArgs(['--quiet', 'a', '---', 'b'])).toEqual({ quiet: true, a: ['a'], b: ['b'] });
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
    expect(parseFlags(['--timing', 'threaded']).flags).toEqual({ timing: 'threaded' });
    expect(() => parseFlags(['--timing', 'fast'])).toThrow(/threaded, deterministic.*'fast'/);
    expect(() => parseFlags(['--timing'])).toThrow(/needs a mode/);
    expect(() => parseFlags(['--timing'])).toThrow(UsageError);
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
