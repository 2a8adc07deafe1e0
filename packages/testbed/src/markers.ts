/**
 * The lines a VM's job script prints on the serial console to tell the host
 * where the command's output starts and how it ended. One module, so the
 * script that prints them ({@link jobScript}) and the parser that reads them
 * (console.ts) cannot drift apart. assets/init.sh prints the exit marker
 * too, as plain text (a unit test checks it matches {@link exitMarker}).
 * @module
 */

/** Printed just before the command starts: the lines after it are the command's. */
export const BEGIN_MARKER = '@@RDMAJS_BEGIN@@';
/** Printed by a pair VM once its rxe0 is up, before it waits for the peer. */
export const RXE_UP_MARKER = '@@RDMAJS_RXE_UP@@';

const EXIT_PREFIX = '@@RDMAJS_EXIT=';
const EXIT_SUFFIX = '@@';
const EXIT_RE = /@@RDMAJS_EXIT=(\d+)@@/;

/** The exit marker for `code`: a number, or a shell expansion such as `$(cat f)`. */
export function exitMarker(code: number | string): string {
  return `${EXIT_PREFIX}${code}${EXIT_SUFFIX}`;
}

/** Finds an exit marker in a console line: the exit code and the text before it. */
export function findExitMarker(line: string): { code: number; before: string } | undefined {
  const m = EXIT_RE.exec(line);
  return m ? { code: Number(m[1]), before: line.slice(0, m.index) } : undefined;
}
