/**
 * The testbed's cache: Debian's generic kernel (it has rdma_rxe, 9p and
 * overlay as modules), busybox, and a small initramfs, unpacked under
 * `$RDMAJS_TESTBED_CACHE` or `~/.cache/rdmajs-testbed`. Packages are fetched
 * with `apt-get download` and unpacked with `dpkg-deb -x`: nothing is
 * installed on the host, least of all a kernel. That needs a Debian host (or
 * one whose apt sources are Debian's): Ubuntu names its kernels differently
 * and keeps `rdma_rxe` in another package, and hosts without apt have no way
 * to fetch a .deb; {@link prepare} then says so.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { logToStderr } from './log.js';

// The initramfs /init, shipped as a plain shell script.
const INIT_SCRIPT = fileURLToPath(new URL('../assets/init.sh', import.meta.url));

/** What {@link prepare} produced. */
export interface Testbed {
  /** Kernel release, e.g. `'6.1.0-56-amd64'`. */
  kernelVersion: string;
  /** Where the kernel and busybox packages are unpacked (seen by the VM at the same path). */
  root: string;
  /** The kernel image qemu boots (`-kernel`). */
  vmlinuz: string;
  /** The gzip'd cpio initramfs qemu boots (`-initrd`): busybox, the 9p/overlay modules and /init. */
  initrd: string;
  /** busybox (static) inside `root`, used for modprobe in the VM. */
  busybox: string;
}

/** The cache directory. */
export function cacheDir(): string {
  return process.env.RDMAJS_TESTBED_CACHE || join(homedir(), '.cache', 'rdmajs-testbed');
}

// Modules the initramfs needs before it can mount the host's filesystem.
const EARLY_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];
// Bump when the initramfs or layout changes, so old caches are rebuilt.
const LAYOUT = 1;

function run(cmd: string, args: string[], options: { cwd?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/** The distribution's name, for messages. */
function distribution(): string {
  for (const f of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync(f, 'utf8'));
      if (m?.[1]) return m[1];
    } catch {
      // try the next one
    }
  }
  return 'an unknown distribution';
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, cmd)));
}

const NEEDS_DEBIAN =
  "the testbed boots Debian's generic kernel (linux-image-amd64: rdma_rxe, 9p and overlay as modules), " +
  'fetched from the host\'s apt sources with apt-get download and unpacked with dpkg-deb; ' +
  'that needs a Debian host (tested on Debian 12, bookworm)';

/** Fails early, and says why, where the kernel package cannot be fetched. */
function checkHost(): void {
  const absent = ['apt-get', 'apt-cache', 'dpkg-deb'].filter((c) => !onPath(c));
  if (absent.length) {
    throw new Error(`rdmajs-testbed: cannot prepare the testbed on ${distribution()} (no ${absent.join(', ')}): ${NEEDS_DEBIAN}.`);
  }
}

/** The versioned package behind `linux-image-amd64`, e.g. `linux-image-6.1.0-56-amd64`. */
function kernelPackage(log: (s: string) => void): string {
  const find = (): string | undefined => {
    try {
      return /Depends: (linux-image-[0-9][^\s]*-amd64)\b/.exec(run('apt-cache', ['depends', 'linux-image-amd64']))?.[1];
    } catch {
      return undefined;
    }
  };
  let pkg = find();
  if (!pkg) {
    log('apt-cache knows no kernel package yet: running apt-get update');
    try {
      run('apt-get', ['update', '-q']);
    } catch (err) {
      const why = String((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n').slice(-2).join(' ');
      throw new Error(`rdmajs-testbed: apt-get update failed (${why}); run it as root (sudo apt-get update), then try again`);
    }
    pkg = find();
  }
  if (!pkg) {
    throw new Error(`rdmajs-testbed: apt on ${distribution()} knows no linux-image-amd64 package: ${NEEDS_DEBIAN}; Ubuntu and other distributions' kernels are not supported.`);
  }
  return pkg;
}

/** Download sizes of packages from `apt-cache show`, e.g. `'70.6 MB'`; empty when unknown. */
function downloadSizes(pkgs: string[]): Map<string, string> {
  const sizes = new Map<string, string>();
  try {
    let name = '';
    for (const line of run('apt-cache', ['show', '--no-all-versions', ...pkgs]).split('\n')) {
      if (line.startsWith('Package: ')) name = line.slice(9).trim();
      else if (line.startsWith('Size: ') && name && !sizes.has(name)) sizes.set(name, `${(Number(line.slice(6)) / 1e6).toFixed(1)} MB`);
    }
  } catch {
    // sizes are only for the progress line
  }
  return sizes;
}

/** Takes a directory lock (mkdir is atomic), waiting for another preparer. */
async function withLock<T>(dir: string, fn: () => T): Promise<T> {
  const lock = join(dir, '.lock');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than the deadline belongs to a dead preparer.
      if (Date.now() - statSync(lock).mtimeMs > 10 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`rdmajs-testbed: timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The cached testbed if it is complete, without preparing anything. */
export function cachedTestbed(): Testbed | undefined {
  try {
    const m = JSON.parse(readFileSync(join(cacheDir(), 'manifest.json'), 'utf8')) as Testbed & { layout: number };
    if (m.layout !== LAYOUT) return undefined;
    if (![m.vmlinuz, m.initrd, m.busybox].every((f) => existsSync(f))) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/**
 * Makes sure the kernel, modules and initramfs are in the cache, fetching and
 * building them on first use (about 70 MB of packages; a few seconds).
 * Safe to call concurrently and repeatedly.
 */
export async function prepare(options: { log?: (line: string) => void } = {}): Promise<Testbed> {
  const log = options.log ?? logToStderr;
  const ready = cachedTestbed();
  if (ready) return ready;
  checkHost();
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  return withLock(dir, () => cachedTestbed() ?? build(dir, log));
}

function build(dir: string, log: (s: string) => void): Testbed {
  const started = Date.now();
  const pkg = kernelPackage(log);
  const kernelVersion = pkg.replace(/^linux-image-/, '');
  const root = join(dir, kernelVersion);
  const pkgs = [pkg, 'busybox-static'];
  const sizes = downloadSizes(pkgs);
  log(`downloading ${pkgs.map((p) => (sizes.has(p) ? `${p} (${sizes.get(p)})` : p)).join(' and ')} into ${root}`);
  const tmp = mkdtempSync(join(dir, 'download-'));
  try {
    chmodSync(tmp, 0o777); // apt-get download drops to the _apt user when it can
    run('apt-get', ['download', '-q', ...pkgs], { cwd: tmp });
    log('unpacking; building the initramfs');
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    for (const deb of readdirSync(tmp).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', join(tmp, deb), root]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const busybox = join(root, 'bin', 'busybox');
  const vmlinuz = join(root, 'boot', `vmlinuz-${kernelVersion}`);
  if (!existsSync(busybox) || !existsSync(vmlinuz)) throw new Error(`rdmajs-testbed: unpacked packages lack ${busybox} or ${vmlinuz}`);
  // The .deb ships no modules.dep (its postinst makes it); busybox's depmod does.
  run(busybox, ['depmod', '-b', root, kernelVersion]);

  const initrd = join(root, 'initrd.gz');
  buildInitramfs(root, kernelVersion, busybox, initrd);
  const manifest: Testbed & { layout: number } = { layout: LAYOUT, kernelVersion, root, vmlinuz, initrd, busybox };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  log(`ready: kernel ${kernelVersion} (${Math.round((Date.now() - started) / 1000)} s)`);
  return manifest;
}

/** busybox + the early modules (with their dependencies) + /init, as a gzip'd newc cpio. */
function buildInitramfs(root: string, kver: string, busybox: string, out: string): void {
  const modDir = join(root, 'lib', 'modules', kver);
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(modDir, 'modules.dep'), 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod && rest !== undefined) deps.set(mod, rest.trim().split(/\s+/).filter(Boolean));
  }
  const wanted = new Set<string>();
  for (const name of EARLY_MODULES) {
    const path = [...deps.keys()].find((p) => p.endsWith(`/${name}.ko`) || p.endsWith(`/${name}.ko.xz`));
    if (!path) continue; // built into this kernel
    wanted.add(path);
    for (const d of deps.get(path) ?? []) wanted.add(d);
  }
  const staging = mkdtempSync(join(dirname(out), 'initramfs-'));
  try {
    const stageMods = join(staging, 'lib', 'modules', kver);
    mkdirSync(join(staging, 'bin'), { recursive: true });
    copyFileSync(busybox, join(staging, 'bin', 'busybox'));
    chmodSync(join(staging, 'bin', 'busybox'), 0o755);
    for (const m of wanted) {
      mkdirSync(dirname(join(stageMods, m)), { recursive: true });
      copyFileSync(join(modDir, m), join(stageMods, m));
    }
    for (const f of ['modules.dep', 'modules.alias', 'modules.symbols']) {
      if (existsSync(join(modDir, f))) copyFileSync(join(modDir, f), join(stageMods, f));
    }
    copyFileSync(INIT_SCRIPT, join(staging, 'init'));
    chmodSync(join(staging, 'init'), 0o755);
    run('sh', ['-c', `find . | cpio -o -H newc --quiet | gzip -1 > '${out}.tmp'`], { cwd: staging });
    renameSync(`${out}.tmp`, out);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
