// rdmajs-testbed as a process: usage errors exit 2 with one line and a hint,
// --version and --help answer, and `auto`'s host path honours --timeout.
// Needs dist/ (npx tsc -b). Nothing here boots a VM.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { runOnHost } from '../../src/host.js';
import { COMMAND_HELP, USAGE } from '../../src/usage.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function testbed(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('rdmajs-testbed', () => {
  it('exits 2 on a usage error, with the message and a --help hint', () => {
    const cases: [string[], string][] = [
      [['run', '--bogus'], "rdmajs-testbed: unknown option --bogus\n(rdmajs-testbed run --help shows the usage)\n"],
      [['auto', '--memory'], 'rdmajs-testbed: --memory needs a size in MiB\n(rdmajs-testbed auto --help shows the usage)\n'],
      [['pair', '--timeout', 'x', 'a', '---', 'b'], "rdmajs-testbed: --timeout needs a positive number of seconds, got 'x'\n(rdmajs-testbed pair --help shows the usage)\n"],
      [['frob'], "rdmajs-testbed: unknown command 'frob'\n(rdmajs-testbed --help shows the usage)\n"],
      [['--bogus'], 'rdmajs-testbed: unknown option --bogus\n(rdmajs-testbed --help shows the usage)\n'],
      [[], 'rdmajs-testbed: no command given: run, auto, pair, prepare or doctor\n(rdmajs-testbed --help shows the usage)\n'],
      [['doctor', '-v'], 'rdmajs-testbed: unknown option -v\n(rdmajs-testbed doctor --help shows the usage)\n'],
    ];
    for (const [args, err] of cases) expect(testbed(...args), args.join(' ')).toEqual({ code: 2, out: '', err });
  });

  it('--version and -V print the package version', () => {
    expect(testbed('--version')).toEqual({ code: 0, out: `${version}\n`, err: '' });
    expect(testbed('-V').out).toBe(`${version}\n`);
  });

  it('-h/--help print the usage, each command its own, with environment and exit codes', () => {
    expect(testbed('--help')).toEqual({ code: 0, out: USAGE, err: '' });
    expect(testbed('-h').out).toBe(USAGE);
    for (const cmd of Object.keys(COMMAND_HELP) as (keyof typeof COMMAND_HELP)[]) {
      expect(testbed(cmd, '--help'), cmd).toEqual({ code: 0, out: COMMAND_HELP[cmd], err: '' });
    }
    for (const text of [USAGE, COMMAND_HELP.run, COMMAND_HELP.auto, COMMAND_HELP.pair]) {
      for (const word of ['RDMAJS_TESTBED_TIMING', 'RDMAJS_TESTBED_ACCEL', 'RDMAJS_TESTBED_CPU', 'RDMAJS_TESTBED_CACHE', 'RDMAJS_DEBUG', '124', '125']) {
        expect(text).toContain(word);
      }
    }
  });
});

describe('runOnHost (auto on a host with RDMA)', () => {
  it('passes the exit code through, 128+n for a signal, 127 when not found', async () => {
    expect(await runOnHost(['sh', '-c', 'exit 3'])).toBe(3);
    expect(await runOnHost(['sh', '-c', 'kill -TERM $$'])).toBe(128 + 15);
    expect(await runOnHost(['rdmajs-no-such-command-here'])).toBe(127);
  });

  it('stops the command when --timeout runs out: exit 124', async () => {
    const lines: string[] = [];
    const t0 = Date.now();
    expect(await runOnHost(['sleep', '30'], { timeoutMs: 200, log: (l) => lines.push(l) })).toBe(124);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(lines).toEqual(['timed out after 0.2 s: stopping sleep']);
  });

  it('SIGKILLs a command that ignores SIGTERM after the grace period', async () => {
    expect(await runOnHost(['sh', '-c', "trap '' TERM; sleep 30"], { timeoutMs: 100, graceMs: 200 })).toBe(124);
  });
});
