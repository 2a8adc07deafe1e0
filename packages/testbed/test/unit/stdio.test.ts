// A closed stdout (`rdmajs-testbed ... | head`) ends the process quietly
// with 141, as a Unix tool SIGPIPE kills, instead of an EPIPE stack trace.
// Needs dist/ (npx tsc -b). Nothing here boots a VM.
import { spawn } from 'node:child_process';

import { describe, expect, it } from 'vitest';

const stdio = new URL('../../dist/stdio.js', import.meta.url).href;

/** Runs `code` (an ES module body) with its stdout's reader closed at once; resolves with its exit code and stderr. */
function withClosedStdout(code: string): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, err }));
  });
}

// Writes a line every 10 ms; gives up (exit 99) after 10 s.
const WRITER = "setInterval(() => process.stdout.write('line\\n'), 10); setTimeout(() => process.exit(99), 10_000).unref();";

describe('closed stdout', () => {
  it('without the handler Node crashes with EPIPE (what the CLI did)', async () => {
    const r = await withClosedStdout(WRITER);
    expect(r.code).toBe(1);
    expect(r.err).toContain('EPIPE');
  });

  it('exitQuietlyWhenOutputCloses: exit 141, nothing on stderr', async () => {
    const r = await withClosedStdout(`import { exitQuietlyWhenOutputCloses } from '${stdio}'; exitQuietlyWhenOutputCloses(); ${WRITER}`);
    expect(r).toEqual({ code: 141, err: '' });
  });
});
