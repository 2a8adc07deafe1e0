/**
 * Small helpers that write POSIX sh for the VM's job script (and quote qemu
 * command lines for the debug log).
 * @module
 */

/** `s` as one sh word: single-quoted, with embedded quotes escaped. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Shell lines that retry `condition` (an sh command list) every `pollS`
 * seconds until it succeeds, and call `fail` with `failure` once `limitS`
 * seconds have passed. The script must define `fail`.
 */
export function waitFor(condition: string, limitS: number, pollS: number, failure: string): string[] {
  return [
    `deadline=$(($(date +%s) + ${limitS}))`,
    `until ${condition}; do`,
    `  [ $(date +%s) -lt $deadline ] || fail "${failure}"`,
    `  sleep ${pollS}`,
    'done',
  ];
}
