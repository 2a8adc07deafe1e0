/**
 * The option and result types of {@link runInTestbed} and
 * {@link runInTestbedPair} (plain data; no code).
 * @module
 */
import type { PairHost } from './addresses.js';
import type { Timing } from './timing.js';

/** Options common to {@link runInTestbed} and {@link runInTestbedPair}. */
export interface VmOptions {
  /** Working directory inside the VM(s); default `process.cwd()`. */
  cwd?: string;
  /** Memory of each VM in MiB. Default 3072. */
  memoryMiB?: number;
  /** vCPUs of each VM. Default 2 (threaded timing); deterministic timing has 1. */
  cpus?: number;
  /**
   * `threaded` (default, or `$RDMAJS_TESTBED_TIMING`): multi-threaded
   * emulation, fast, figures follow host load. `deterministic`: qemu icount
   * on one vCPU, guest ns = guest instructions, so benchmark figures repeat
   * whatever the host does. See {@link Timing}.
   */
  timing?: Timing;
  /** Kill the VM(s) after this long. Default 30 minutes. */
  timeoutMs?: number;
  /** Receives progress lines (boot time...). Default: stderr, unless `quiet`. */
  log?: (line: string) => void;
  /** No progress lines on stderr (ignored when `log` is given). Default false. */
  quiet?: boolean;
}

/** Options of {@link runInTestbed}. */
export interface RunOptions extends VmOptions {
  /** The command and its arguments (no shell). */
  command: string[];
  /** Extra environment for the command (added to a clean base environment). */
  env?: Record<string, string>;
  /** Receives the command's output (stdout and stderr, merged) as it arrives. */
  onOutput?: (chunk: string) => void;
}

/** What {@link runInTestbed} returns (and {@link runInTestbedPair}, per host). */
export interface RunResult {
  /** The command's exit code (125: the testbed failed; 124: timed out). */
  exitCode: number;
  /** Everything the command printed. */
  output: string;
  /** From qemu start to the command start (device ready), in ms. */
  bootMs: number;
  /** From qemu start to VM exit, in ms. */
  totalMs: number;
}

/** What one host of {@link runInTestbedPair} runs. */
export interface PairCommand {
  /** The command and its arguments (no shell). */
  command: string[];
  /** Extra environment for the command. */
  env?: Record<string, string>;
}

/** Options of {@link runInTestbedPair}. */
export interface PairOptions extends VmOptions {
  /** Runs in host A, 10.9.1.1. */
  a: PairCommand;
  /** Runs in host B, 10.9.1.2. */
  b: PairCommand;
  /** Receives each host's output, a line at a time, as it arrives. */
  onOutput?: (host: PairHost, chunk: string) => void;
}

/** What {@link runInTestbedPair} returns: each host's result. */
export type PairResult = Record<PairHost, RunResult>;
