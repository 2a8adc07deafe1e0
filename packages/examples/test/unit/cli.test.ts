// rdmajs-demo's command line: the built CLI as a process (needs dist/: npx tsc -b),
// for exit codes and output. Nothing here needs an RDMA device.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function node(script: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [dist(script), ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('rdmajs-demo as a process', () => {
  it('exits 2 on any argument but -h/--help/-V/--version', () => {
    expect(node('demo.js', '--bogus')).toEqual({ code: 2, out: '', err: 'rdmajs-demo: unknown option --bogus\n(rdmajs-demo --help shows the usage)\n' });
    expect(node('demo.js', 'now').code).toBe(2);
  });

  it('--version prints the package version; -h the usage with environment and exit codes', () => {
    expect(node('demo.js', '-V')).toEqual({ code: 0, out: `${version}\n`, err: '' });
    const help = node('demo.js', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: rdmajs-demo\n/);
    expect(help.out).toMatch(/RDMAJS_DEVICE[\s\S]*exit codes: 0 done, 1 no RDMA device or a failure, 2 usage error/);
  });
});
