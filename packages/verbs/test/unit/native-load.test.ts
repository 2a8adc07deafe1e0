// native/index.cjs: when the addon cannot load, one error says what to do.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'rdmajs-native-load-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the package's loader with the given binaries (and nothing else). */
function loaderWith(name: string, binaries: Record<string, string>): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  copyFileSync(join(repo, 'native', 'index.cjs'), join(dir, 'index.cjs'));
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  for (const [path, content] of Object.entries(binaries)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

function loadError(dir: string): { code: string; message: string } {
  const r = spawnSync(
    'node',
    ['-e', `try { require(${JSON.stringify(join(dir, 'index.cjs'))}); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`],
    { encoding: 'utf8' },
  );
  return JSON.parse(r.stdout);
}

describe('@rdmajs/native loader', () => {
  it('with no build and no prebuilt binary: ERR_RDMAJS_NATIVE, and how to build one', () => {
    const e = loadError(loaderWith('empty', {}));
    expect(e.code).toBe('ERR_RDMAJS_NATIVE');
    expect(e.message).toContain(`no prebuilt binary fits ${process.platform}-${process.arch}`);
    expect(e.message).toContain('npm rebuild @rdmajs/native');
    expect(e.message).toContain('libibverbs-dev');
  });

  it('with a binary that does not load: ERR_RDMAJS_NATIVE naming the cause and the rebuild', () => {
    const e = loadError(loaderWith('broken', { [`prebuilds/${process.platform}-${process.arch}/x.node`]: 'not an ELF file' }));
    expect(e.code).toBe('ERR_RDMAJS_NATIVE');
    expect(e.message).toContain('npm rebuild @rdmajs/native --build-from-source');
    expect(e.message).toMatch(/cause: .*x\.node/);
  });
});
