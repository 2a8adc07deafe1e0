/**
 * The exit codes the testbed itself gives, beside the command's own: the
 * same in the VM, on the host (`auto`) and for `rdmajs-testbed`'s usage
 * errors, after timeout(1) and the shell.
 * @module
 */

/** Exit code when `--timeout` ran out (as timeout(1), and as in the VM). */
export const TIMED_OUT_EXIT_CODE = 124;
/** Exit code when the testbed itself failed (as timeout(1)'s own failure). */
export const TESTBED_FAILED_EXIT_CODE = 125;
/** Exit code when the command does not exist (as the shell's). */
export const NOT_FOUND_EXIT_CODE = 127;
/** Exit code of a usage error, as most Unix tools. */
export const USAGE_EXIT_CODE = 2;
/** Exit code when the reader of stdout went away: 128 + SIGPIPE, as the shell reports a tool SIGPIPE killed. */
export const CLOSED_OUTPUT_EXIT_CODE = 141;
