/**
 * `rdmajs-testbed auto` on a host with an RDMA device: the command runs here,
 * bounded by `--timeout` as it would be in the VM.
 * @module
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

import { NOT_FOUND_EXIT_CODE, TESTBED_FAILED_EXIT_CODE, TIMED_OUT_EXIT_CODE } from './exit-codes.js';

/** Options of {@link runOnHost}. */
export interface HostRunOptions {
  /** SIGTERM the command after this long (SIGKILL `graceMs` later) and resolve 124. */
  timeoutMs?: number | undefined;
  /** Default 5000. */
  graceMs?: number;
  /** Receives the timeout and spawn-failure lines. */
  log?: (line: string) => void;
}

/**
 * Runs `command` with this process's stdio and resolves with its exit code
 * (128+n for signal n), 124 when `timeoutMs` ran out, 127 when it does not
 * exist, 125 when it cannot be started otherwise. Never rejects.
 */
export function runOnHost(command: readonly string[], options: HostRunOptions = {}): Promise<number> {
  const { timeoutMs, graceMs = 5000, log = () => {} } = options;
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit' });
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            log(`timed out after ${timeoutMs / 1000} s: stopping ${command[0]}`);
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
          }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      log(`${command[0]}: ${err.message}`);
      resolve(err.code === 'ENOENT' ? NOT_FOUND_EXIT_CODE : TESTBED_FAILED_EXIT_CODE);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve(TIMED_OUT_EXIT_CODE);
      else resolve(code ?? 128 + (signal !== null ? constants.signals[signal] : 0));
    });
  });
}
