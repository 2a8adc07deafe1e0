// rdmajs-run end to end: runCli in process (help, version, usage errors,
// the root address it picks or is given), then the real CLI as a process,
// bundled from the sources, taking a real SIGINT from outside.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { USAGE } from '../../src/launch/args.js';
import { LAUNCHER_FAILED_EXIT_CODE, USAGE_EXIT_CODE, runCli, type CliIo } from '../../src/launch/main.js';
import { bundle, packageDir, scratch } from './fixtures/bundle.js';

/** An in-memory CliIo; `signals` holds the handler while a job runs. */
function io(env: NodeJS.ProcessEnv = process.env) {
  let out = '';
  let err = '';
  const state: { handler: ((s: 'SIGINT' | 'SIGTERM' | 'SIGHUP') => void) | undefined; routed: number } = { handler: undefined, routed: 0 };
  const cli: CliIo = {
    stdout: (c) => void (out += c.toString()),
    stderr: (c) => void (err += c.toString()),
    env,
    version: '9.9.9',
    onSignals(handler) {
      state.handler = handler;
      state.routed++;
      return () => (state.handler = undefined);
    },
    supervise: { graceMs: 1_000 },
  };
  return { cli, state, out: () => out, err: () => err };
}

const PRINT_ROOT = [process.execPath, '-e', 'console.log(process.env.RDMAJS_MP_ROOT)'];

describe('runCli', () => {
  it('--help prints the usage, --version the version: exit 0', async () => {
    const h = io();
    expect(await runCli(['--help'], h.cli)).toBe(0);
    expect(h.out()).toBe(USAGE);
    const v = io();
    expect(await runCli(['-V'], v.cli)).toBe(0);
    expect(v.out()).toBe('9.9.9\n');
  });

  it('a usage error: exit 2, the reason and a pointer to --help on stderr, nothing started', async () => {
    const u = io();
    expect(await runCli(['-n', 'two', 'node'], u.cli)).toBe(USAGE_EXIT_CODE);
    expect(u.err()).toBe('rdmajs-run: -n needs a whole number of ranks in 1..16777215, got "two"\n(rdmajs-run --help shows the usage)\n');
    expect(u.out()).toBe('');
    expect(u.state.routed).toBe(0);
  });

  it('the root: a free port on 127.0.0.1, on $RDMAJS_TESTBED_IP in the testbed, or as given', async () => {
    const plain = io({ ...process.env, RDMAJS_TESTBED_IP: '' });
    expect(await runCli(['-n', '2', ...PRINT_ROOT], plain.cli)).toBe(0);
    const roots = plain.out().trim().split('\n');
    expect(roots).toHaveLength(2);
    expect(roots[0]).toMatch(/^\[\d\] 127\.0\.0\.1:\d+$/);
    expect(roots[0]!.slice(4)).toBe(roots[1]!.slice(4)); // one root for all ranks
    expect(plain.state.routed).toBe(1);
    expect(plain.state.handler).toBeUndefined(); // the signal route is undone after the job

    // Any 127/8 address is this host on Linux: stands in for the VM's 10.9.0.1.
    const testbed = io({ ...process.env, RDMAJS_TESTBED_IP: '127.0.0.2' });
    expect(await runCli(['-n', '1', ...PRINT_ROOT], testbed.cli)).toBe(0);
    expect(testbed.out()).toMatch(/^\[0\] 127\.0\.0\.2:\d+\n$/);

    const given = io();
    expect(await runCli(['-n', '1', '--root', '10.1.2.3:7470', '--', ...PRINT_ROOT], given.cli)).toBe(0);
    expect(given.out()).toBe('[0] 10.1.2.3:7470\n');

    const v6 = io();
    expect(await runCli(['-n', '1', '--root', '[::1]:7470', '--', ...PRINT_ROOT], v6.cli)).toBe(0);
    expect(v6.out()).toBe('[0] [::1]:7470\n');
  });

  it('a root host that is not this host\'s and no port: exit 125, nothing started', async () => {
    const bad = io();
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a host.
    expect(await runCli(['-n', '2', '--root', '192.0.2.1', ...PRINT_ROOT], bad.cli)).toBe(LAUNCHER_FAILED_EXIT_CODE);
    expect(bad.err()).toMatch(/^rdmajs-run: no free port for the rendezvous on 192\.0\.2\.1 \(EADDRNOTAVAIL\); give one with --root host:port\n$/);
    expect(bad.out()).toBe('');
  });

  it('a failing rank and --timeout through the CLI: the job\'s exit code, the launcher\'s notes on stderr', async () => {
    const fail = io();
    const code = await runCli(['-n', '2', process.execPath, '-e', 'process.exit(Number(process.env.RDMAJS_MP_RANK) === 1 ? 7 : 0)'], fail.cli);
    expect(code).toBe(7);
    expect(fail.err()).toContain('rdmajs-run: rank 1 exited with code 7');

    const slow = io();
    expect(await runCli(['-n', '1', '--timeout', '0.2', process.execPath, '-e', 'setInterval(() => {}, 1000)'], slow.cli)).toBe(124);
    expect(slow.err()).toBe('rdmajs-run: timed out after 0.2 s; stopping all ranks\n');
  });

  it('routes the signals it is given to the ranks', async () => {
    const s = io();
    const done = runCli(['-n', '2', process.execPath, '-e', "process.on('SIGHUP', () => { console.log('hup'); process.exit(4); }); console.log('ready'); setInterval(() => {}, 1000)"], s.cli);
    for (let i = 0; i < 500 && s.out().split('ready').length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    s.state.handler!('SIGHUP');
    expect(await done).toBe(4);
    expect(s.out().split('\n').filter((l) => l.endsWith('hup')).sort()).toEqual(['[0] hup', '[1] hup']);
  });
});

describe('the rdmajs-run executable', () => {
  const tmp = scratch();
  let cli = '';
  beforeAll(async () => {
    // dist/launch/cli.js finds the package.json two directories up; the bundle sits the same way.
    mkdirSync(join(tmp.dir, 'dist', 'launch'), { recursive: true });
    copyFileSync(join(packageDir, 'package.json'), join(tmp.dir, 'package.json'));
    cli = await bundle('src/launch/cli.ts', join(tmp.dir, 'dist', 'launch', 'cli.js'));
  });
  afterAll(() => tmp.remove());

  function start(args: string[]) {
    // Its own process group, like a foreground job in a terminal.
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return { child, exit, out: () => out, err: () => err };
  }

  it('has a node shebang and prints the package version', async () => {
    expect(readFileSync(join(packageDir, 'src', 'launch', 'cli.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
    const v = start(['--version']);
    expect(await v.exit).toBe(0);
    expect(v.out()).toBe(`${version}\n`);
    const u = start(['-n', '2']);
    expect(await u.exit).toBe(2);
    expect(u.err()).toMatch(/no command to run/);
  });

  it('Ctrl-C (SIGINT to the launcher\'s process group) reaches every rank once; the launcher waits and exits with their code', async () => {
    const script = "let n = 0; process.on('SIGINT', () => { n++; console.log('SIGINT #' + n); setTimeout(() => process.exit(40 + n), 100); }); console.log('ready'); setInterval(() => {}, 1000)";
    const r = start(['-n', '3', process.execPath, '-e', script]);
    // Bounded (30 s) wait until every rank has its handler: a loaded machine starts Node slowly.
    for (let i = 0; i < 3000 && r.out().split('ready').length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    process.kill(-r.child.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
    expect(await r.exit).toBe(41);
    const got = r.out().split('\n').filter((l) => l.includes('SIGINT'));
    expect(got.sort()).toEqual(['[0] SIGINT #1', '[1] SIGINT #1', '[2] SIGINT #1']);
  });
});
