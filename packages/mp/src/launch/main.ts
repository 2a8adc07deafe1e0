/**
 * `rdmajs-run`'s behaviour, with its I/O passed in so tests can drive it in
 * process; `cli.ts` binds it to the real process.
 * @module
 */
import { formatHostPort } from '../bootstrap/format.js';
import type { HostPort } from '../types.js';
import { USAGE, UsageError, parseArgs, type Invocation, type RunArgs } from './args.js';
import { defaultRootHost, freePort } from './root.js';
import { supervise, type ForwardedSignal, type SuperviseOptions } from './supervisor.js';
import { loadTestbed, runOnTestbed, type TestbedApi } from './testbed.js';

/** Exit code of a command line `rdmajs-run` rejects. */
export const USAGE_EXIT_CODE = 2;

/** Exit code when the launcher itself fails (e.g. no free port at the root host), as `timeout(1)`'s 125. */
export const LAUNCHER_FAILED_EXIT_CODE = 125;

/** What `rdmajs-run` talks to. */
export interface CliIo {
  stdout(chunk: Buffer | string): void;
  stderr(chunk: Buffer | string): void;
  /** The launcher's environment: the ranks' base, and `RDMAJS_TESTBED_IP`. */
  env: NodeJS.ProcessEnv;
  /** Printed by `--version`. */
  version: string;
  /** Routes the launcher's SIGINT/SIGTERM/SIGHUP (`FORWARDED_SIGNALS`) to `handler` while the job runs; returns the undo. */
  onSignals(handler: (signal: ForwardedSignal) => void): () => void;
  /** Overrides for the supervisor, for tests (e.g. a short grace period); `cwd` is also the VMs'. */
  supervise?: Pick<SuperviseOptions, 'graceMs' | 'cwd'>;
  /**
   * How to start this same launcher inside a testbed VM: the node binary and
   * the CLI script (`cli.ts` gives its own). Needed by `--testbed` and `--testbed-pair`.
   */
  self?: readonly string[];
  /** `@rdmajs/testbed`, or a fake for tests; default: loaded when `--testbed`/`--testbed-pair` asks for it. */
  testbed?: TestbedApi;
}

/**
 * Runs `rdmajs-run` with `argv` (without `node` and the script) and resolves
 * with its exit code: the job's (see {@link supervise}), 0 for `--help` and
 * `--version`, {@link USAGE_EXIT_CODE} for a usage error,
 * {@link LAUNCHER_FAILED_EXIT_CODE} when no root address can be had or the
 * testbed fails (for `--testbed`, `--testbed-pair`: the inner launchers' code, see `testbed.ts`).
 * Never rejects (unless `io` throws).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`rdmajs-run: ${err.message}\n(rdmajs-run --help shows the usage)\n`);
    return USAGE_EXIT_CODE;
  }
  switch (invocation.kind) {
    case 'help':
      io.stdout(USAGE);
      return 0;
    case 'version':
      io.stdout(`${io.version}\n`);
      return 0;
    case 'run':
      return invocation.args.placement === 'local' ? run(invocation.args, io) : runInVms(invocation.args, io);
  }
}

/** `--testbed` / `--testbed-pair`. The testbed stops its VMs on SIGINT/SIGTERM/SIGHUP itself (and the ranks with them). */
async function runInVms(args: RunArgs, io: CliIo): Promise<number> {
  if (io.self === undefined) {
    io.stderr(`rdmajs-run: --${args.placement} is not available here: the launcher does not know its own script to run in the VM\n`);
    return LAUNCHER_FAILED_EXIT_CODE;
  }
  try {
    const testbed = io.testbed ?? (await loadTestbed());
    const testbedIo = {
      stdout: (chunk: string) => io.stdout(chunk),
      stderr: (chunk: string) => io.stderr(chunk),
      env: io.env,
      self: io.self,
      testbed,
      ...(io.supervise?.cwd !== undefined ? { cwd: io.supervise.cwd } : {}),
    };
    return await runOnTestbed(args, testbedIo);
  } catch (err) {
    io.stderr(`rdmajs-run: ${err instanceof Error ? err.message : String(err)}\n`);
    return LAUNCHER_FAILED_EXIT_CODE;
  }
}

async function run(args: RunArgs, io: CliIo): Promise<number> {
  let root: HostPort;
  const host = args.root?.host ?? defaultRootHost(io.env);
  try {
    root = args.root?.port !== undefined ? { host, port: args.root.port } : await freePort(host);
  } catch (err) {
    io.stderr(`rdmajs-run: no free port for the rendezvous on ${host} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give one with --root host:port\n`);
    return LAUNCHER_FAILED_EXIT_CODE;
  }
  const options: SuperviseOptions = {
    command: args.command,
    size: args.size,
    ...(args.ranks !== undefined ? { ranks: args.ranks } : {}),
    root,
    env: io.env,
    stdout: (chunk) => io.stdout(chunk),
    stderr: (chunk) => io.stderr(chunk),
    log: (message) => io.stderr(`rdmajs-run: ${message}\n`),
    ...io.supervise,
  };
  if (args.timeoutMs !== undefined) options.timeoutMs = args.timeoutMs;
  let job;
  try {
    job = supervise(options);
  } catch (err) {
    io.stderr(`rdmajs-run: ${(err as Error).message} (rendezvous ${formatHostPort(root)})\n`);
    return LAUNCHER_FAILED_EXIT_CODE;
  }
  const undo = io.onSignals((signal) => job.forward(signal));
  try {
    return (await job.result).exitCode;
  } finally {
    undo();
  }
}
