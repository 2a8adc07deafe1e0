import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { prepare } from '../../src/cache.js';

// prepare() on hosts that cannot fetch Debian's kernel: a clear error, before
// anything is downloaded. PATH and the cache directory are this file's own
// (vitest runs each file in its own process).
const scratch = mkdtempSync(join(tmpdir(), 'rdmajs-cache-test-'));
const saved = { PATH: process.env.PATH, RDMAJS_TESTBED_CACHE: process.env.RDMAJS_TESTBED_CACHE };
const bin = join(scratch, 'bin');
const fake = (name: string, body: string) => {
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
};
beforeAll(() => {
  mkdirSync(bin);
  symlinkSync('/bin/sh', join(bin, 'sh'));
  process.env.RDMAJS_TESTBED_CACHE = join(scratch, 'cache');
});
afterAll(() => {
  process.env.PATH = saved.PATH;
  if (saved.RDMAJS_TESTBED_CACHE === undefined) delete process.env.RDMAJS_TESTBED_CACHE;
  else process.env.RDMAJS_TESTBED_CACHE = saved.RDMAJS_TESTBED_CACHE;
  rmSync(scratch, { recursive: true, force: true });
});

describe('testbed cache on a host that is not Debian', () => {
  it('without apt-get and dpkg-deb (Fedora, Arch...): says what it needs', async () => {
    process.env.PATH = bin;
    await expect(prepare({ log: () => {} })).rejects.toThrow(/cannot prepare the testbed on .* \(no apt-get, apt-cache, dpkg-deb\): the testbed boots Debian's generic kernel \(linux-image-amd64/);
  });

  it("with apt whose sources have no linux-image-amd64 (Ubuntu): says it needs Debian's", async () => {
    // Ubuntu's apt-cache: "E: No packages found"; its apt-get update works.
    fake('apt-cache', 'echo "E: No packages found" >&2; exit 100');
    fake('apt-get', 'exit 0');
    fake('dpkg-deb', 'exit 1');
    process.env.PATH = bin;
    const lines: string[] = [];
    await expect(prepare({ log: (l) => lines.push(l) })).rejects.toThrow(/knows no linux-image-amd64 package: .*Debian host.*Ubuntu and other distributions' kernels are not supported/);
    expect(lines).toEqual(['apt-cache knows no kernel package yet: running apt-get update']);
  });

  it('when apt-get update fails (not root): says to run it as root', async () => {
    fake('apt-cache', 'exit 100');
    fake('apt-get', 'echo "E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)" >&2; exit 100');
    fake('dpkg-deb', 'exit 1');
    process.env.PATH = bin;
    await expect(prepare({ log: () => {} })).rejects.toThrow(/apt-get update failed \(E: Could not open lock file.*\); run it as root \(sudo apt-get update\)/);
  });
});
