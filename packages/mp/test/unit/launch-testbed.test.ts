// rdmajs-run --testbed / --testbed-pair over a fake @rdmajs/testbed: what
// each VM is asked to run (the inner launcher, its rank range and root), the
// environment passed in, the output and exit codes passed back; and
// --ranks, the inner launcher's part of a job, with real processes.
import { describe, expect, it } from 'vitest';

import { TESTBED_PAIR_ROOT_PORT, parseArgs, type RunArgs } from '../../src/launch/args.js';
import { LAUNCHER_FAILED_EXIT_CODE, runCli, type CliIo } from '../../src/launch/main.js';
import * as realTestbed from '../../../testbed/src/index.js';
import {
  TESTBED_BOOT_MARGIN_MS,
  loadTestbed,
  pairCommands,
  splitRanks,
  testbedCommand,
  vmEnv,
  type TestbedApi,
  type TestbedPairOptions,
  type TestbedRunOptions,
} from '../../src/launch/testbed.js';

const SELF = ['/usr/bin/node', '/repo/packages/mp/dist/launch/cli.js'];
const IPS = { a: '10.9.1.1', b: '10.9.1.2' };

function runArgs(argv: string[]): RunArgs {
  const inv = parseArgs(argv);
  if (inv.kind !== 'run') throw new Error(`expected a run, got ${inv.kind}`);
  return inv.args;
}

/** A fake testbed: records what it is asked, prints `lines`, returns `codes`. */
function fakeTestbed(codes: { single?: number; a?: number; b?: number }, lines: string[] = []) {
  const calls: { single: TestbedRunOptions[]; pair: TestbedPairOptions[] } = { single: [], pair: [] };
  const api: TestbedApi = {
    TESTBED_PAIR_IPS: IPS,
    async runInTestbed(options) {
      calls.single.push(options);
      for (const line of lines) options.onOutput?.(line);
      options.log?.('booted');
      return { exitCode: codes.single ?? 0 };
    },
    async runInTestbedPair(options) {
      calls.pair.push(options);
      for (const line of lines) options.onOutput?.(line.startsWith('[0]') ? 'a' : 'b', line);
      return { a: { exitCode: codes.a ?? 0 }, b: { exitCode: codes.b ?? 0 } };
    },
  };
  return { api, calls };
}

function io(testbed: TestbedApi | undefined, env: NodeJS.ProcessEnv = { PATH: '/bin' }) {
  let out = '';
  let err = '';
  let routed = 0;
  const cli: CliIo = {
    stdout: (c) => void (out += c.toString()),
    stderr: (c) => void (err += c.toString()),
    env,
    version: '9.9.9',
    onSignals() {
      routed++;
      return () => {};
    },
    supervise: { graceMs: 1_000 },
  };
  if (testbed !== undefined) cli.testbed = testbed;
  cli.self = SELF;
  return { cli, out: () => out, err: () => err, routed: () => routed };
}

describe('planning the VMs', () => {
  it('splitRanks: the first ceil(n/2) ranks on A, the rest on B', () => {
    expect(splitRanks(2)).toEqual({ a: { first: 0, last: 0 }, b: { first: 1, last: 1 } });
    expect(splitRanks(3)).toEqual({ a: { first: 0, last: 1 }, b: { first: 2, last: 2 } });
    expect(splitRanks(4)).toEqual({ a: { first: 0, last: 1 }, b: { first: 2, last: 3 } });
    expect(splitRanks(5)).toEqual({ a: { first: 0, last: 2 }, b: { first: 3, last: 4 } });
  });

  it('--testbed: the VM runs rdmajs-run -n N with --root and --timeout as given', () => {
    expect(testbedCommand(runArgs(['-n', '4', '--testbed', 'node', 'app.js', '-x']), SELF)).toEqual([...SELF, '-n', '4', '--', 'node', 'app.js', '-x']);
    expect(testbedCommand(runArgs(['-n', '2', '--testbed', '--root', '10.9.0.1', '--timeout', '1.5', '--', '-cmd']), SELF)).toEqual([
      ...SELF,
      '-n',
      '2',
      '--root',
      '10.9.0.1',
      '--timeout',
      '1.5',
      '--',
      '-cmd',
    ]);
    expect(testbedCommand(runArgs(['-n', '2', '--testbed', '--root', '[fd00::1]:9', 'c']), SELF)).toContain('[fd00::1]:9');
  });

  it('--testbed-pair: each VM runs its rank range of the same job, rooted on A', () => {
    const plan = pairCommands(runArgs(['-n', '5', '--testbed-pair', '--timeout', '30', 'node', 'app.js']), SELF, IPS);
    const tail = ['--root', `10.9.1.1:${TESTBED_PAIR_ROOT_PORT}`, '--timeout', '30', '--', 'node', 'app.js'];
    expect(plan.a).toEqual([...SELF, '-n', '5', '--ranks', '0-2', ...tail]);
    expect(plan.b).toEqual([...SELF, '-n', '5', '--ranks', '3-4', ...tail]);
    expect(plan.root).toEqual({ host: '10.9.1.1', port: TESTBED_PAIR_ROOT_PORT });
    // One rank per VM: a single rank, not a range; --root's port (and host) are used when given.
    const two = pairCommands(runArgs(['-n', '2', '--testbed-pair', '--root', '10.9.1.1:9000', 'c']), SELF, IPS);
    expect(two.a).toEqual([...SELF, '-n', '2', '--ranks', '0', '--root', '10.9.1.1:9000', '--', 'c']);
    expect(two.b).toEqual([...SELF, '-n', '2', '--ranks', '1', '--root', '10.9.1.1:9000', '--', 'c']);
  });

  it('vmEnv: the launcher\'s environment, less the testbed\'s variables, an outer job\'s, and names a shell cannot export', () => {
    expect(
      vmEnv({
        PATH: '/bin',
        FOO: 'a b\nc',
        RDMAJS_MP_RANK: '1',
        RDMAJS_MP_ROOT: 'h:1',
        RDMAJS_TESTBED: '1',
        RDMAJS_TESTBED_IP: '10.9.0.1',
        RDMAJS_DEVICE: 'rxe0',
        RDMAJS_DEVICE_PORT: '1',
        'BASH_FUNC_f%%': '() { :; }',
        UNSET: undefined,
      }),
    ).toEqual({ PATH: '/bin', FOO: 'a b\nc', RDMAJS_DEVICE_PORT: '1' });
  });
});

describe('runCli with a testbed placement', () => {
  it('--testbed: one VM, its output streamed as is, its exit code returned, the timeout widened for the boot', async () => {
    const tb = fakeTestbed({ single: 3 }, ['[0] hello\n', '[1] hello\n']);
    const t = io(tb.api, { PATH: '/bin', FOO: '1', RDMAJS_MP_SIZE: '9' });
    expect(await runCli(['-n', '2', '--testbed', '--timing', 'deterministic', '--timeout', '60', 'node', 'app.js'], t.cli)).toBe(3);
    expect(t.out()).toBe('[0] hello\n[1] hello\n');
    expect(t.err()).toBe('[rdmajs-testbed] booted\n');
    expect(tb.calls.single).toHaveLength(1);
    const call = tb.calls.single[0]!;
    expect(call.command).toEqual([...SELF, '-n', '2', '--timeout', '60', '--', 'node', 'app.js']);
    expect(call.env).toEqual({ PATH: '/bin', FOO: '1' });
    expect(call.timing).toBe('deterministic');
    expect(call.timeoutMs).toBe(60_000 + TESTBED_BOOT_MARGIN_MS);
    // The testbed stops its VMs on a signal itself: the launcher routes none.
    expect(t.routed()).toBe(0);
    // Without --timeout the testbed's own bound applies.
    const plain = fakeTestbed({});
    expect(await runCli(['-n', '1', '--testbed', 'c'], io(plain.api).cli)).toBe(0);
    expect(plain.calls.single[0]!.timeoutMs).toBeUndefined();
    expect(plain.calls.single[0]!.timing).toBeUndefined();
  });

  it('--testbed-pair: both VMs, the split announced, A\'s failure first, else B\'s code', async () => {
    const tb = fakeTestbed({ a: 0, b: 6 }, ['[0] on a\n', '[1] on b\n']);
    const p = io(tb.api);
    expect(await runCli(['-n', '2', '--testbed-pair', 'node', 'app.js'], p.cli)).toBe(6);
    expect(p.out()).toBe('[0] on a\n[1] on b\n');
    expect(p.err()).toBe(`rdmajs-run: ranks 0 on VM A, 1 on VM B; rendezvous 10.9.1.1:${TESTBED_PAIR_ROOT_PORT}\n`);
    expect(tb.calls.pair[0]!.a.command).toContain('--ranks');
    expect(tb.calls.pair[0]!.b.env).toEqual({ PATH: '/bin' });
    expect(await runCli(['-n', '2', '--testbed-pair', 'c'], io(fakeTestbed({ a: 124, b: 1 }).api).cli)).toBe(124);
    expect(await runCli(['-n', '2', '--testbed-pair', 'c'], io(fakeTestbed({ a: 0, b: 0 }).api).cli)).toBe(0);
  });

  it('the launcher or the testbed failing: 125 with the reason', async () => {
    const noSelf = io(fakeTestbed({}).api, {});
    delete noSelf.cli.self;
    expect(await runCli(['-n', '2', '--testbed', 'c'], noSelf.cli)).toBe(LAUNCHER_FAILED_EXIT_CODE);
    expect(noSelf.err()).toMatch(/^rdmajs-run: --testbed is not available here: the launcher does not know its own script/);

    const broken: TestbedApi = {
      TESTBED_PAIR_IPS: IPS,
      runInTestbed: () => Promise.reject(new Error('rdmajs-testbed: cannot start qemu-system-x86_64 (spawn ENOENT)')),
      runInTestbedPair: () => Promise.reject(new Error('unused')),
    };
    const b = io(broken);
    expect(await runCli(['-n', '2', '--testbed', 'c'], b.cli)).toBe(LAUNCHER_FAILED_EXIT_CODE);
    expect(b.err()).toBe('rdmajs-run: rdmajs-testbed: cannot start qemu-system-x86_64 (spawn ENOENT)\n');
  });
});

describe('loadTestbed', () => {
  it('loads the workspace\'s @rdmajs/testbed, with the pair addresses the VMs really have', async () => {
    const api = await loadTestbed();
    // The structural TestbedApi must describe the real module (checked by the type checker too).
    const typed: TestbedApi = realTestbed;
    expect(api.TESTBED_PAIR_IPS).toEqual(typed.TESTBED_PAIR_IPS);
    expect(typeof api.runInTestbed).toBe('function');
  });
});

describe('--ranks: part of a job on this host', () => {
  it('starts only ranks A..B, with the job size, local ranks from 0, and the given root', async () => {
    const script = "const e = process.env; console.log([e.RDMAJS_MP_RANK, e.RDMAJS_MP_SIZE, e.RDMAJS_MP_LOCAL_RANK, e.RDMAJS_MP_LOCAL_SIZE, e.RDMAJS_MP_ROOT].join(' '))";
    const r = io(undefined, process.env);
    expect(await runCli(['-n', '5', '--ranks', '2-4', '--root', '10.9.1.1:7470', process.execPath, '-e', script], r.cli)).toBe(0);
    expect(r.out().trim().split('\n').sort()).toEqual(['[2] 2 5 0 3 10.9.1.1:7470', '[3] 3 5 1 3 10.9.1.1:7470', '[4] 4 5 2 3 10.9.1.1:7470']);
    expect(r.routed()).toBe(1);
  });

  it('a failing rank of the range: its code, named by its rank in the job', async () => {
    const r = io(undefined, process.env);
    const code = await runCli(['-n', '4', '--ranks', '2-3', '--root', '127.0.0.1:1', process.execPath, '-e', 'process.exit(process.env.RDMAJS_MP_RANK === "3" ? 9 : 0)'], r.cli);
    expect(code).toBe(9);
    expect(r.err()).toContain('rdmajs-run: rank 3 exited with code 9');
  });
});
