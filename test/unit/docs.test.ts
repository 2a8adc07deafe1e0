// The API site (`npm run docs`): typedoc with the repository's config must
// pass with no warning, and the config must keep the checks that make a
// warning of every undocumented public symbol.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const typedoc = join(repo, 'node_modules', '.bin', 'typedoc');
const out = mkdtempSync(join(tmpdir(), 'rdmajs-docs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const PACKAGES = ['verbs', 'sdp', 'mp', 'testbed'];

describe('API documentation site', () => {
  it('keeps the checks that fail on an undocumented symbol', () => {
    const config = JSON.parse(readFileSync(join(repo, 'typedoc.json'), 'utf8'));
    expect(config.treatWarningsAsErrors).toBe(true);
    expect(config.validation.notDocumented).toBe(true);
    expect(config.validation.invalidLink).toBe(true);
    // Without this list typedoc checks only the root package, which has no symbols.
    expect(config.packagesRequiringDocumentation).toEqual(PACKAGES.map((p) => `@rdmajs/${p}`));
    expect(config.entryPoints).toEqual(PACKAGES.map((p) => `packages/${p}/src/index.ts`));
  });

  it('builds with no warning or error', () => {
    const run = spawnSync(typedoc, ['--out', out], { cwd: repo, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const output = `${run.stdout}${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    expect(output).not.toMatch(/\[(warning|error)\]/);
    expect(run.status, output).toBe(0);

    for (const p of PACKAGES) expect(existsSync(join(out, 'modules', `_rdmajs_${p}.html`)), p).toBe(true);
    for (const guide of ['getting-started', 'sdp', 'mp', 'performance', 'configuration', 'coverage', 'events']) {
      expect(existsSync(join(out, 'documents', `${guide}.html`)), guide).toBe(true);
    }
    // Wire internals and Node's stream/EventEmitter members stay out.
    expect(existsSync(join(out, 'modules', '_rdmajs_sdp.protocol.html'))).toBe(false);
    const socket = readFileSync(join(out, 'classes', '_rdmajs_sdp.SdpSocket.html'), 'utf8');
    expect(socket).toContain('id="setnodelay"');
    for (const inherited of ['pipe', 'addlistener', '_write']) expect(socket).not.toContain(`id="${inherited}"`);
  }, 60_000);
});
