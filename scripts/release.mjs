#!/usr/bin/env node
// Versions and publishes the workspaces with npm alone (this replaced lerna,
// which did only this): every package gets the same version, and the pins
// between @rdmajs packages follow it.
//
//   npm run release -- version 0.2.0     set the version everywhere, refresh the lockfile
//   npm run release -- publish [--dry-run]   pack (prepack builds) and publish the public ones
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const usage = 'usage: release.mjs version <x.y.z> [--root DIR] [--no-lockfile] | publish [--dry-run]';

function fail(message) {
  console.error(`release: ${message}\n${usage}`);
  process.exit(2);
}

/** Every workspace's package.json path, from the root's `workspaces`. */
function workspaceManifests(root) {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return workspaces.map((w) => join(root, w, 'package.json'));
}

/** Sets `version` on every workspace and on the pins between them; returns what changed. */
export function setVersion(root, version) {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) fail(`not a semver version: ${version}`);
  const manifests = workspaceManifests(root).map((path) => ({ path, json: JSON.parse(readFileSync(path, 'utf8')) }));
  const ours = new Set(manifests.map((m) => m.json.name));
  const changes = [];
  for (const { path, json } of manifests) {
    if (json.version !== version) changes.push(`${json.name} ${json.version} -> ${version}`);
    json.version = version;
    for (const field of ['dependencies', 'peerDependencies', 'devDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(json[field] ?? {})) if (ours.has(dep)) json[field][dep] = version;
    }
    writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`);
  }
  return changes;
}

const [command, ...rest] = process.argv.slice(2);
const option = (name) => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest.splice(i, 2)[1];
};
if (command === 'version') {
  const root = resolve(option('--root') ?? join(import.meta.dirname, '..'));
  const lockfile = !rest.includes('--no-lockfile');
  const version = rest.find((a) => !a.startsWith('--'));
  if (!version) fail('version: which version?');
  for (const line of setVersion(root, version)) console.log(line);
  if (lockfile) execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
} else if (command === 'publish') {
  // npm publish --workspaces skips the private workspaces (examples, bench) itself.
  const args = ['publish', '--workspaces', '--access', 'public', ...(rest.includes('--dry-run') ? ['--dry-run'] : [])];
  execFileSync('npm', args, { cwd: join(import.meta.dirname, '..'), stdio: 'inherit' });
} else {
  fail(command ? `unknown command: ${command}` : 'no command');
}
