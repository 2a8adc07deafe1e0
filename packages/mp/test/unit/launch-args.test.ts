// rdmajs-run's command line: options, where the command starts, and a
// UsageError naming the problem for every malformed line.
import { describe, expect, it } from 'vitest';

import { USAGE, UsageError, parseArgs, type Invocation } from '../../src/launch/args.js';

function run(argv: string[]) {
  const inv: Invocation = parseArgs(argv);
  if (inv.kind !== 'run') throw new Error(`expected a run, got ${inv.kind}`);
  return inv.args;
}

function usage(argv: string[], message: RegExp): void {
  let caught: unknown;
  try {
    parseArgs(argv);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UsageError);
  expect((caught as Error).message).toMatch(message);
}

describe('parseArgs', () => {
  it('-n and a command; everything after the command belongs to it', () => {
    expect(run(['-n', '4', 'node', 'app.js', '--flag', '-n', '9'])).toEqual({
      placement: 'local',
      size: 4,
      command: ['node', 'app.js', '--flag', '-n', '9'],
    });
    expect(run(['-n', '2', '--', '-dash-command', 'x'])).toEqual({ placement: 'local', size: 2, command: ['-dash-command', 'x'] });
  });

  it('spellings of -n: -n N, -nN, -n=N, -np N, --np N, --np=N', () => {
    for (const argv of [['-n', '3'], ['-n3'], ['-n=3'], ['-np', '3'], ['--np', '3'], ['--np=3']]) {
      expect(run([...argv, 'cmd']).size).toBe(3);
    }
  });

  it('--root: host:port, [v6]:port, or a host alone (the launcher picks the port)', () => {
    expect(run(['-n', '2', '--root', '10.9.0.1:7470', 'cmd']).root).toEqual({ host: '10.9.0.1', port: 7470 });
    expect(run(['-n', '2', '--root=[fe80::1]:7470', 'cmd']).root).toEqual({ host: 'fe80::1', port: 7470 });
    expect(run(['-n', '2', '--root', '10.9.0.1', 'cmd']).root).toEqual({ host: '10.9.0.1' });
    expect(run(['-n', '2', '--root', 'node-a.cluster', 'cmd']).root).toEqual({ host: 'node-a.cluster' });
    expect(run(['-n', '2', '--root', '[::1]', 'cmd']).root).toEqual({ host: '::1' });
    expect(run(['-n', '2', '--root', 'fe80::2', 'cmd']).root).toEqual({ host: 'fe80::2' });
  });

  it('--timeout in seconds, fractions allowed', () => {
    expect(run(['-n', '1', '--timeout', '30', 'cmd']).timeoutMs).toBe(30_000);
    expect(run(['-n', '1', '--timeout=0.25', 'cmd']).timeoutMs).toBe(250);
    expect(run(['-n', '1', 'cmd']).timeoutMs).toBeUndefined();
  });

  it('--help and --version, short and long, win over everything before the command', () => {
    expect(parseArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['-n', '2', '-h'])).toEqual({ kind: 'help' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
    expect(parseArgs(['-V'])).toEqual({ kind: 'version' });
    // After the command they are the command's.
    expect(run(['-n', '1', 'node', '--help']).command).toEqual(['node', '--help']);
    expect(USAGE).toMatch(/^usage: rdmajs-run -n N/);
  });

  it('usage errors name what is wrong', () => {
    usage([], /the number of ranks is required: -n N/);
    usage(['node', 'app.js'], /the number of ranks is required/);
    usage(['-n', '2'], /no command to run/);
    usage(['-n', '2', '--'], /no command to run/);
    usage(['-n'], /-n needs a value/);
    usage(['-n', '0', 'cmd'], /-n needs a whole number of ranks in 1\.\.\d+, got "0"/);
    usage(['-n', '2.5', 'cmd'], /got "2\.5"/);
    usage(['-n', 'four', 'cmd'], /got "four"/);
    usage(['-nx', 'cmd'], /got "x"/);
    usage(['-n', '99999999999', 'cmd'], /whole number of ranks/);
    usage(['--np=', 'cmd'], /got ""/);
    usage(['-n', '2', '--bogus', 'cmd'], /unknown option --bogus/);
    usage(['-n', '2', '--testbeds', 'cmd'], /unknown option --testbeds/);
    usage(['-n', '2', '--timeout', '0', 'cmd'], /--timeout needs a positive number of seconds, got "0"/);
    usage(['-n', '2', '--timeout', '-1', 'cmd'], /--timeout needs a positive number/);
    usage(['-n', '2', '--timeout', '1e99', 'cmd'], /--timeout needs a positive number/);
    usage(['-n', '2', '--timeout', '99999999', 'cmd'], /too long/);
    usage(['-n', '2', '--timeout'], /--timeout needs a value/);
    usage(['-n', '2', '--root', 'host:0', 'cmd'], /--root="host:0" must be host:port/);
    usage(['-n', '2', '--root', 'host:port', 'cmd'], /must be host:port/);
    usage(['-n', '2', '--root', '', 'cmd'], /--root needs host or host:port/);
    usage(['-n', '2', '--root', 'a b', 'cmd'], /not a host name or address/);
    usage(['-n', '2', '', 'x'], /the command is an empty string/);
  });

  it('--testbed and --testbed-pair choose the placement; --timing goes with them', () => {
    expect(run(['-n', '4', '--testbed', 'node', 'app.js'])).toEqual({ placement: 'testbed', size: 4, command: ['node', 'app.js'] });
    expect(run(['--testbed-pair', '-n', '4', '--timing', 'deterministic', '--', 'node', 'app.js'])).toEqual({
      placement: 'testbed-pair',
      size: 4,
      timing: 'deterministic',
      command: ['node', 'app.js'],
    });
    expect(run(['-n', '2', '--testbed', '--testbed', '--timing=threaded', '--root', '10.9.0.1:7000', 'cmd'])).toEqual({
      placement: 'testbed',
      size: 2,
      timing: 'threaded',
      root: { host: '10.9.0.1', port: 7000 },
      command: ['cmd'],
    });
  });

  it('--ranks A-B or A: part of a job, with the job size from -n and a root with a port', () => {
    expect(run(['-n', '4', '--ranks', '2-3', '--root', '10.9.1.1:7470', 'cmd'])).toEqual({
      placement: 'local',
      size: 4,
      ranks: { first: 2, last: 3 },
      root: { host: '10.9.1.1', port: 7470 },
      command: ['cmd'],
    });
    expect(run(['-n', '4', '--ranks=3', '--root=h:1', 'cmd']).ranks).toEqual({ first: 3, last: 3 });
    expect(run(['-n', '1', '--ranks', '0-0', '--root', 'h:1', 'cmd']).ranks).toEqual({ first: 0, last: 0 });
  });

  it('usage errors of the testbed and --ranks options', () => {
    usage(['-n', '2', '--testbed', '--testbed-pair', 'cmd'], /--testbed and --testbed-pair exclude each other/);
    usage(['-n', '2', '--testbed=yes', 'cmd'], /--testbed takes no value/);
    usage(['-n', '1', '--testbed-pair', 'cmd'], /--testbed-pair needs at least 2 ranks \(-n 2\), one per VM/);
    usage(['-n', '2', '--timing', 'deterministic', 'cmd'], /--timing applies to the testbed VMs: add --testbed or --testbed-pair/);
    usage(['-n', '2', '--testbed', '--timing', 'fast', 'cmd'], /--timing needs threaded or deterministic, got "fast"/);
    usage(['-n', '2', '--testbed', '--timing'], /--timing needs a value/);
    usage(['-n', '4', '--ranks', '2-3', 'cmd'], /--ranks needs --root host:port with a port/);
    usage(['-n', '4', '--ranks', '2-3', '--root', 'h', 'cmd'], /--ranks needs --root host:port with a port/);
    usage(['-n', '4', '--ranks', '2-4', '--root', 'h:1', 'cmd'], /--ranks 2-4 goes beyond the job's ranks 0\.\.3 \(-n 4\)/);
    usage(['-n', '4', '--ranks', '3-2', '--root', 'h:1', 'cmd'], /--ranks 3-2 runs backwards/);
    usage(['-n', '4', '--ranks', 'two', '--root', 'h:1', 'cmd'], /--ranks needs a rank or a range of ranks A-B \(e\.g\. 0-3\), got "two"/);
    usage(['-n', '4', '--ranks', '-1', '--root', 'h:1', 'cmd'], /--ranks needs a rank or a range/);
    usage(['-n', '4', '--ranks', '0-1', '--root', 'h:1', '--testbed', 'cmd'], /--ranks starts part of a job on this host; it does not combine with --testbed/);
    usage(['-n', '4', '--testbed-pair', '--ranks', '0-1', '--root', 'h:1', 'cmd'], /does not combine with --testbed-pair/);
  });
});
