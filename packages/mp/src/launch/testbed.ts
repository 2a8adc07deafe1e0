/**
 * `rdmajs-run --testbed` and `--testbed-pair`: the ranks run in SoftRoCE
 * testbed VMs (`@rdmajs/testbed`). Each VM runs an ordinary `rdmajs-run`
 * (this same script, with the host's node, over the host's filesystem that
 * the VM mounts): `--testbed` all N ranks in one VM; `--testbed-pair` the
 * first half of the ranks in VM A and the rest in VM B (`--ranks`), rank 0's
 * rendezvous root on A's address. The outer launcher streams the VMs'
 * output (already prefixed `[rank] ` inside) and returns the exit code.
 *
 * `@rdmajs/testbed` is loaded only for these options, so the package does
 * not need it otherwise; its API is described here structurally.
 * @module
 */
import { formatHostPort } from '../bootstrap/format.js';
import type { HostPort } from '../types.js';
import { TESTBED_PAIR_ROOT_PORT, formatRange, type RankRange, type RunArgs, type TestbedTiming } from './args.js';

/** The part of `@rdmajs/testbed`'s `RunResult` this module reads. */
export interface TestbedResult {
  exitCode: number;
}

/** Options of `runInTestbed` this module passes. */
export interface TestbedRunOptions {
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
  timing?: TestbedTiming;
  timeoutMs?: number;
  onOutput?: (chunk: string) => void;
  log?: (line: string) => void;
}

/** Options of `runInTestbedPair` this module passes. */
export interface TestbedPairOptions {
  a: { command: string[]; env?: Record<string, string> };
  b: { command: string[]; env?: Record<string, string> };
  cwd?: string;
  timing?: TestbedTiming;
  timeoutMs?: number;
  onOutput?: (host: 'a' | 'b', chunk: string) => void;
  log?: (line: string) => void;
}

/** What `rdmajs-run` uses of `@rdmajs/testbed`; tests pass a fake. */
export interface TestbedApi {
  runInTestbed(options: TestbedRunOptions): Promise<TestbedResult>;
  runInTestbedPair(options: TestbedPairOptions): Promise<{ a: TestbedResult; b: TestbedResult }>;
  readonly TESTBED_PAIR_IPS: Readonly<{ a: string; b: string }>;
}

/** Extra time the VMs get beyond `--timeout`, for booting (under emulation, with other VMs booting too). */
export const TESTBED_BOOT_MARGIN_MS = 5 * 60_000;

/** Variables the testbed sets itself, or that describe an outer job: not passed into the VMs. */
const NOT_PASSED = /^(RDMAJS_MP_|RDMAJS_TESTBED|RDMAJS_DEVICE$)/;

/** Names a shell can export (the VM's job script exports each variable). */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The launcher's environment for the ranks in a VM, as the ranks of a local
 * launch would get it, less the testbed's own variables and those of an
 * outer job. Pure; never throws.
 */
export function vmEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && SHELL_NAME.test(name) && !NOT_PASSED.test(name)) out[name] = value;
  }
  return out;
}

/** Ranks on VM A and on VM B: the first ceil(size/2) on A. `size` >= 2. Never throws. */
export function splitRanks(size: number): { a: RankRange; b: RankRange } {
  const onA = Math.ceil(size / 2);
  return { a: { first: 0, last: onA - 1 }, b: { first: onA, last: size - 1 } };
}

/** `--timeout` as the inner launcher's argument: whole seconds where exact, else a decimal. */
function timeoutArgs(args: RunArgs): string[] {
  return args.timeoutMs === undefined ? [] : ['--timeout', String(args.timeoutMs / 1000)];
}

/** `--root` as given, for the inner launcher to resolve in the VM. */
function rootArgs(args: RunArgs): string[] {
  const root = args.root;
  if (root === undefined) return [];
  return ['--root', root.port === undefined ? root.host : formatHostPort({ host: root.host, port: root.port })];
}

/**
 * The command the single VM runs: `<node> <cli> -n N [--root ...] [--timeout s] -- <command...>`.
 * Pure; never throws.
 * @param self how to start `rdmajs-run` in the VM: the node binary and this CLI's script
 */
export function testbedCommand(args: RunArgs, self: readonly string[]): string[] {
  return [...self, '-n', String(args.size), ...rootArgs(args), ...timeoutArgs(args), '--', ...args.command];
}

/** The rendezvous root of a pair job: on A, at `--root`'s port or {@link TESTBED_PAIR_ROOT_PORT}. Never throws. */
export function pairRoot(args: RunArgs, ips: Readonly<{ a: string }>): HostPort {
  return { host: args.root?.host ?? ips.a, port: args.root?.port ?? TESTBED_PAIR_ROOT_PORT };
}

/**
 * What VMs A and B run: each `<node> <cli> -n N --ranks A-B --root <root> [--timeout s] -- <command...>`.
 * Pure; never throws.
 */
export function pairCommands(args: RunArgs, self: readonly string[], ips: Readonly<{ a: string }>): { a: string[]; b: string[]; root: HostPort } {
  const root = pairRoot(args, ips);
  const split = splitRanks(args.size);
  const part = (range: RankRange) => [
    ...self,
    '-n',
    String(args.size),
    '--ranks',
    formatRange(range),
    '--root',
    formatHostPort(root),
    ...timeoutArgs(args),
    '--',
    ...args.command,
  ];
  return { a: part(split.a), b: part(split.b), root };
}

/** What {@link runOnTestbed} talks to. */
export interface TestbedIo {
  stdout(chunk: string): void;
  /** Receives the launcher's and the testbed's progress lines, newline-terminated. */
  stderr(chunk: string): void;
  env: NodeJS.ProcessEnv;
  /** Working directory inside the VMs (the host's paths are mounted there); default the launcher's. */
  cwd?: string;
  /** How to start `rdmajs-run` in a VM: the node binary and the CLI script. */
  self: readonly string[];
  testbed: TestbedApi;
}

/**
 * Runs a `--testbed` or `--testbed-pair` job and resolves with its exit
 * code: the inner launcher's (for a pair, A's when it failed, else B's),
 * 124 when the VMs' bound ran out, 125 when the testbed failed.
 * Rejects when the testbed throws (e.g. cannot prepare its VM pieces).
 */
export async function runOnTestbed(args: RunArgs, io: TestbedIo): Promise<number> {
  const env = vmEnv(io.env);
  const common = {
    ...(io.cwd !== undefined ? { cwd: io.cwd } : {}),
    ...(args.timing !== undefined ? { timing: args.timing } : {}),
    ...(args.timeoutMs !== undefined ? { timeoutMs: args.timeoutMs + TESTBED_BOOT_MARGIN_MS } : {}),
    log: (line: string) => io.stderr(`[rdmajs-testbed] ${line}\n`),
  };
  if (args.placement === 'testbed') {
    const result = await io.testbed.runInTestbed({ ...common, command: testbedCommand(args, io.self), env, onOutput: (chunk) => io.stdout(chunk) });
    return result.exitCode;
  }
  const { a, b, root } = pairCommands(args, io.self, io.testbed.TESTBED_PAIR_IPS);
  const split = splitRanks(args.size);
  io.stderr(`rdmajs-run: ranks ${formatRange(split.a)} on VM A, ${formatRange(split.b)} on VM B; rendezvous ${formatHostPort(root)}\n`);
  const result = await io.testbed.runInTestbedPair({
    ...common,
    a: { command: a, env },
    b: { command: b, env },
    onOutput: (_host, chunk) => io.stdout(chunk),
  });
  return result.a.exitCode !== 0 ? result.a.exitCode : result.b.exitCode;
}

/**
 * Loads `@rdmajs/testbed`.
 * @throws (rejects) an Error saying to install it when it is missing, or that it lacks the API.
 */
export async function loadTestbed(): Promise<TestbedApi> {
  const name = '@rdmajs/testbed';
  let mod: unknown;
  try {
    mod = await import(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`--testbed and --testbed-pair need ${name}: npm install ${name}`);
    }
    throw err;
  }
  const api = mod as Partial<TestbedApi>;
  if (typeof api.runInTestbed !== 'function' || typeof api.runInTestbedPair !== 'function' || typeof api.TESTBED_PAIR_IPS?.a !== 'string') {
    throw new Error(`${name} lacks runInTestbed, runInTestbedPair or TESTBED_PAIR_IPS: update it`);
  }
  return api as TestbedApi;
}
