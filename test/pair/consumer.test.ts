// The packages as a user gets them: `npm pack` every published workspace,
// install the tarballs into a scratch project outside the repository with
// --ignore-scripts, then import them (ESM and CJS), type-check a consumer under
// `module: nodenext`, and run one RDMA WRITE on the device (the testbed VM when
// this host has none), all with compilers shadowed on PATH by shims that record
// any call: the prebuilt addon must be enough.
import { execFile, execFileSync, type ExecFileOptions } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const fixtures = join(repo, 'test', 'consumer');
const published = ['@rdmajs/native', '@rdmajs/verbs', '@rdmajs/sdp', '@rdmajs/mp', '@rdmajs/testbed'];
// What a source build would run; each is shadowed by a shim that logs and fails.
const compilers = ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'python3', 'python', 'node-gyp'];

const work = mkdtempSync(join(tmpdir(), 'rdmajs-consumer-'));
const packs = join(work, 'packs');
const project = join(work, 'project');
const shims = join(work, 'shims');
const shimLog = join(work, 'compiler-calls.log');
const env = { ...process.env, PATH: `${shims}:${process.env.PATH}`, CI: process.env.CI ?? '' };
delete (env as Record<string, string | undefined>).npm_config_nodedir;

// Asynchronous, so vitest's worker stays responsive during minutes-long steps.
function run(cmd: string, args: string[], options: ExecFileOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: project, env, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20, ...options }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${out}`));
      else resolve(out);
    });
  });
}

beforeAll(async () => {
  mkdirSync(packs);
  mkdirSync(project);
  mkdirSync(shims);
  for (const tool of compilers) {
    const shim = join(shims, tool);
    writeFileSync(shim, `#!/bin/sh\necho "${tool} $*" >> '${shimLog}'\nexit 1\n`);
    chmodSync(shim, 0o755);
  }
  // Packing runs each package's prepack (tsc; prebuildify for the addon): the
  // publisher's side, so it gets the real PATH.
  await run('npm', ['pack', ...published.flatMap((p) => ['-w', p]), '--pack-destination', packs], {
    cwd: repo,
    env: process.env,
  });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  for (const f of readdirSync(fixtures)) cpSync(join(fixtures, f), join(project, f));
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, '@types/node@^20.19.0']);
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed packages in a consumer project', () => {
  it('ship what they declare: a prebuilt addon, types, README and LICENSE', () => {
    const listing = (name: string) =>
      execFileSync('tar', ['tzf', join(packs, readdirSync(packs).find((f) => f.startsWith(name))!)], { encoding: 'utf8' });
    expect(listing('rdmajs-native-')).toContain('package/prebuilds/linux-x64/');
    for (const p of published) {
      const dir = join(project, 'node_modules', p);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      for (const f of ['README.md', 'LICENSE']) expect(existsSync(join(dir, f)), `${p} ${f}`).toBe(true);
      const types = manifest.exports['.'].types as string;
      expect(existsSync(join(dir, types)), `${p} types ${types}`).toBe(true);
      expect(manifest.os).toEqual(['linux']);
      expect(manifest.engines.node).toBe('>=20.19');
      expect(manifest.publishConfig.access).toBe('public');
    }
  });

  it('import as ESM and require as CJS, with the prebuilt addon', async () => {
    expect(await run('node', ['imports.mjs'])).toMatch(/^esm ok: \d+ verbs exports/m);
    expect(await run('node', ['--no-warnings', 'imports.cjs'])).toMatch(/^cjs ok: \d+ verbs exports/m);
    const picked = await run('node', ['-p', "require('node-gyp-build').resolve(require('node:path').dirname(require.resolve('@rdmajs/native')))"]);
    expect(picked.trim()).toBe(join(project, 'node_modules', '@rdmajs', 'native', 'prebuilds', 'linux-x64', '@rdmajs+native.node'));
  });

  it('type-check under module: nodenext (ESM and CJS consumers)', async () => {
    await run('node', [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  });

  it('answer npx rdmajs-testbed --version', async () => {
    const version = JSON.parse(readFileSync(join(repo, 'packages', 'testbed', 'package.json'), 'utf8')).version;
    expect((await run('npx', ['--no-install', 'rdmajs-testbed', '--version'])).trim()).toBe(version);
  });

  it('run an RDMA WRITE on the device (the testbed VM when the host has none)', async () => {
    const out = await run('npx', ['--no-install', 'rdmajs-testbed', 'auto', '--timeout', '600', '--', 'node', 'rc-write.mjs']);
    expect(out).toMatch(/rc-write ok: 4096 bytes on \w+, addon .*\/prebuilds\/linux-x64\/@rdmajs\+native\.node/);
  });

  it('called no compiler', () => {
    expect(existsSync(shimLog) ? readFileSync(shimLog, 'utf8') : '').toBe('');
  });
});
