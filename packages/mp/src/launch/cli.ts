#!/usr/bin/env node
/**
 * `rdmajs-run -n N [options] [--] <command...>`: starts N ranks of a command
 * for `@rdmajs/mp`, on this host or in testbed VMs (see `args.ts` for the
 * usage, `supervisor.ts` for how ranks are watched, `testbed.ts` for the VMs).
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { LAUNCHER_FAILED_EXIT_CODE, runCli } from './main.js';
import { FORWARDED_SIGNALS } from './supervisor.js';

/** The package's version, from the package.json two levels up (dist/launch/ or src/launch/). */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

// A closed stdout (`rdmajs-run ... | head`) must not kill the launcher and orphan the ranks: their output is dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

runCli(process.argv.slice(2), {
  stdout: (chunk) => void process.stdout.write(chunk),
  stderr: (chunk) => void process.stderr.write(chunk),
  env: process.env,
  version: version(),
  // The VMs mount the host's filesystem at the same paths: the same node and script run there.
  self: [process.execPath, fileURLToPath(import.meta.url)],
  onSignals(handler) {
    // Listening replaces Node's default (exit at once): the launcher stays to report the ranks' exit.
    const listeners = FORWARDED_SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
    for (const [signal, listener] of listeners) process.on(signal, listener);
    return () => {
      for (const [signal, listener] of listeners) process.off(signal, listener);
    };
  },
}).then(
  (code) => {
    // exitCode, not exit(): lets the ranks' last output drain from our stdout.
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`rdmajs-run: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = LAUNCHER_FAILED_EXIT_CODE;
  },
);
