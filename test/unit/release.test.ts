// scripts/release.mjs (what replaced lerna): one version on every workspace and
// on the pins between them, checked on a copy of the manifests.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const script = join(repo, 'scripts', 'release.mjs');
const workspaces: string[] = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).workspaces;
const scratch = mkdtempSync(join(tmpdir(), 'rdmajs-release-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function manifest(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(scratch, dir, 'package.json'), 'utf8'));
}

describe('release script', () => {
  it('sets one version on every workspace and on the pins between them', () => {
    cpSync(join(repo, 'package.json'), join(scratch, 'package.json'));
    for (const w of workspaces) {
      mkdirSync(join(scratch, w), { recursive: true });
      cpSync(join(repo, w, 'package.json'), join(scratch, w, 'package.json'));
    }
    const out = execFileSync('node', [script, 'version', '9.8.7', '--root', scratch, '--no-lockfile'], { encoding: 'utf8' });
    expect(out).toContain('@rdmajs/verbs 0.1.0 -> 9.8.7');
    const names = new Set(workspaces.map((w) => manifest(w).name));
    let pins = 0;
    for (const w of workspaces) {
      const m = manifest(w);
      expect(m.version, w).toBe('9.8.7');
      for (const field of ['dependencies', 'peerDependencies', 'devDependencies']) {
        for (const [dep, range] of Object.entries(m[field] ?? {})) {
          if (names.has(dep)) {
            expect(range, `${w} ${field} ${dep}`).toBe('9.8.7');
            pins++;
          } else {
            expect(range, `${w} ${field} ${dep}`).not.toBe('9.8.7');
          }
        }
      }
    }
    expect(pins).toBeGreaterThanOrEqual(6);
  });

  it('refuses a bad version or command with exit 2', () => {
    const bad = spawnSync('node', [script, 'version', 'v1', '--root', scratch, '--no-lockfile'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('not a semver version: v1');
    const unknown = spawnSync('node', [script, 'tag'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command: tag');
  });
});
