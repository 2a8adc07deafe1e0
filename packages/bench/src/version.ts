/**
 * The package's version, for `rdmajs-bench --version` and `rdmajs-demo --version`.
 * @module
 */
import { readFileSync } from 'node:fs';

/** `version` of the package.json one level above this module (dist/ or src/); `'unknown'` if unreadable. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
