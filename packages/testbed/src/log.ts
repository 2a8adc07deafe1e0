/**
 * The testbed's progress lines: `[rdmajs-testbed] ...` on stderr, the
 * default of every `log` option and of the CLI.
 * @module
 */

/** Writes one progress line on stderr, prefixed `[rdmajs-testbed] `. */
export function logToStderr(line: string): void {
  process.stderr.write(`[rdmajs-testbed] ${line}\n`);
}
