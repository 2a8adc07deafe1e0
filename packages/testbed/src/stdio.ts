/**
 * The CLI's standard output and error when their reader goes away (`... |
 * head`): Node ignores SIGPIPE, so a write to a closed pipe fails with EPIPE,
 * and an unhandled EPIPE used to crash with a stack trace. Like a Unix tool
 * killed by SIGPIPE, the CLI now ends quietly with 141 (128 + SIGPIPE); its
 * exit handler still kills any VM it started.
 * @module
 */
import { CLOSED_OUTPUT_EXIT_CODE } from './exit-codes.js';

/**
 * Makes a closed stdout or stderr end the process quietly with
 * {@link CLOSED_OUTPUT_EXIT_CODE}; other write errors stay fatal, as before.
 */
export function exitQuietlyWhenOutputCloses(exit: (code: number) => void = (code) => process.exit(code)): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      exit(CLOSED_OUTPUT_EXIT_CODE);
    });
  }
}
