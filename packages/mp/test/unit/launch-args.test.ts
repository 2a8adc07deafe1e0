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
    usage(['-n', '2', '--testbed', 'cmd'], /unknown option --testbed/);
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
});
