import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/setup.sh --plan: its decisions (distribution, packages, testbed)
// with a fake /etc/os-release, a fake /sys/class/infiniband and a fake
// dpkg-query; nothing is installed and nothing is built.
const SETUP = fileURLToPath(new URL('../../../../scripts/setup.sh', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'rdmajs-setup-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Only the tools --plan itself uses, plus fakes: on this PATH gcc, mpirun,
// qemu... are absent whatever the host has.
const bin = join(scratch, 'bin');
mkdirSync(bin);
for (const tool of ['bash', 'dirname', 'basename', 'grep', 'awk', 'tr', 'paste', 'cat', 'sed']) {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  if (found) symlinkSync(found, join(bin, tool));
}
const fake = (name: string, body: string) => {
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
};
// dpkg-query -W -f='${Package} ${Status}\n' pkg...: those in $FAKE_INSTALLED are installed.
fake('dpkg-query', 'shift 2\nfor p in "$@"; do case " $FAKE_INSTALLED " in *" $p "*) echo "$p install ok installed";; esac; done');
fake('apt-get', 'echo "apt-get must not run in --plan" >&2; exit 99');

const osRelease = (name: string, text: string) => {
  const f = join(scratch, `os-release-${name}`);
  writeFileSync(f, text);
  return f;
};
const DEBIAN = osRelease('debian', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n');
const UBUNTU = osRelease('ubuntu', 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nID_LIKE=debian\n');
const FEDORA = osRelease('fedora', 'NAME="Fedora Linux"\nPRETTY_NAME="Fedora Linux 41 (Server Edition)"\nID=fedora\n');
const ROCKY = osRelease('rocky', 'PRETTY_NAME="Rocky Linux 9.4"\nID="rocky"\nID_LIKE="rhel centos fedora"\n');
const ARCH = osRelease('arch', 'PRETTY_NAME="Arch Linux"\nID=arch\n');

const sysfs = (name: string, ports: Record<string, string>) => {
  const root = join(scratch, `sys-${name}`);
  mkdirSync(root);
  for (const [port, state] of Object.entries(ports)) {
    const [dev, n] = port.split('/');
    mkdirSync(join(root, dev!, 'ports', n!), { recursive: true });
    writeFileSync(join(root, dev!, 'ports', n!, 'state'), `${state}\n`);
  }
  return root;
};
const NO_RDMA = sysfs('none', {});
const RDMA = sysfs('active', { 'mlx5_0/1': '1: DOWN', 'mlx5_1/1': '4: ACTIVE' });
const RDMA_DOWN = sysfs('down', { 'mlx5_0/1': '1: DOWN' });

const ALL = 'build-essential python3 pkg-config libibverbs-dev librdmacm-dev ibverbs-providers ibverbs-utils rdmacm-utils perftest iproute2 openmpi-bin libopenmpi-dev ucx-utils qemu-system-x86 cpio';

interface Plan {
  [key: string]: string;
}
function plan(args: string[], env: { os?: string; sys?: string; installed?: string; skipApt?: boolean } = {}): Plan {
  const r = spawnSync('bash', [SETUP, '--plan', ...args], {
    encoding: 'utf8',
    env: {
      PATH: bin,
      RDMAJS_OS_RELEASE: env.os ?? DEBIAN,
      RDMAJS_SYSFS_INFINIBAND: env.sys ?? NO_RDMA,
      FAKE_INSTALLED: env.installed ?? ALL,
      ...(env.skipApt ? { RDMAJS_SKIP_APT: '1' } : {}),
    },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
}
const list = (s: string | undefined) => (s ?? '').split(' ');

describe('scripts/setup.sh --plan', () => {
  it('on Debian with everything installed: nothing to install; the testbed is prepared for npm test', () => {
    const p = plan([]);
    expect(p.distribution).toBe('debian (Debian GNU/Linux 12 (bookworm))');
    expect(p.purpose).toBe('test');
    expect(p['rdma devices']).toBe('none');
    expect(p.packages).toBe(ALL);
    expect(p.missing).toBe('none');
    expect(p['package step']).toBe('nothing to install');
    expect(p['testbed step']).toBe('prepare (kernel cache)');
  });

  it('on Debian with packages missing: apt-get installs exactly those', () => {
    const p = plan(['--for', 'test'], { installed: 'build-essential python3 pkg-config iproute2 cpio' });
    expect(list(p.missing)).toEqual(['libibverbs-dev', 'librdmacm-dev', 'ibverbs-providers', 'ibverbs-utils', 'rdmacm-utils', 'perftest', 'openmpi-bin', 'libopenmpi-dev', 'ucx-utils', 'qemu-system-x86']);
    expect(p['package step']).toBe(`apt-get install --no-install-recommends ${p.missing}`);
  });

  it('RDMAJS_SKIP_APT=1: no apt-get, but says what is missing', () => {
    const p = plan(['--for', 'demo'], { installed: 'build-essential python3', skipApt: true });
    expect(p['package step']).toMatch(/^skipped \(RDMAJS_SKIP_APT=1\); install yourself: pkg-config libibverbs-dev/);
    expect(p['package step']).not.toMatch(/apt-get install/);
  });

  it('a host with an ACTIVE RDMA port: demo and bench need no qemu and no kernel; test still does', () => {
    for (const purpose of ['demo', 'bench']) {
      const p = plan(['--for', purpose], { sys: RDMA });
      expect(p['rdma devices']).toBe('mlx5_1');
      expect(list(p.packages)).not.toContain('qemu-system-x86');
      expect(p.testbed).toBe('not needed: this host has RDMA (mlx5_1)');
      expect(p['testbed step']).toBe('none');
    }
    expect(list(plan(['--for', 'demo'], { sys: RDMA }).packages)).not.toContain('perftest');
    expect(list(plan(['--for', 'bench'], { sys: RDMA }).packages)).toContain('perftest');
    const t = plan(['--for', 'test'], { sys: RDMA });
    expect(list(t.packages)).toContain('qemu-system-x86');
    expect(t.testbed).toMatch(/VM tests boot qemu even on a host with RDMA/);
    expect(t['testbed step']).toBe('prepare (kernel cache)');
  });

  it('a port that is not ACTIVE is no RDMA device: demo gets the testbed', () => {
    const p = plan(['--for=demo'], { sys: RDMA_DOWN });
    expect(p['rdma devices']).toBe('none');
    expect(list(p.packages)).toEqual(expect.arrayContaining(['qemu-system-x86', 'cpio']));
    expect(p['testbed step']).toBe('prepare (kernel cache)');
  });

  it('--for build: the build packages only', () => {
    const p = plan(['--for', 'build']);
    expect(p.packages).toBe('build-essential python3 pkg-config libibverbs-dev librdmacm-dev ibverbs-providers');
    expect(p['testbed step']).toBe('none');
  });

  it('Fedora and its relatives: a dnf hint with Fedora names, no apt-get, no testbed', () => {
    for (const os of [FEDORA, ROCKY]) {
      const p = plan(['--for', 'test'], { os });
      expect(p.distribution).toMatch(/^fedora \((Fedora Linux 41|Rocky Linux 9\.4)/);
      expect(list(p['packages (dnf names)'])).toEqual(expect.arrayContaining(['gcc-c++', 'rdma-core-devel', 'libibverbs-utils', 'openmpi-devel']));
      // Probed by command on this PATH, which has no compiler and no mpirun.
      expect(list(p.missing)).toEqual(expect.arrayContaining(['build-essential', 'openmpi-bin']));
      expect(p['package step']).toMatch(/^by hand \(.*\): dnf install gcc-c\+\+ make .*openmpi/);
      expect(p['package step']).not.toMatch(/apt-get install/);
      expect(list(p.packages)).not.toContain('qemu-system-x86');
      expect(p.testbed).toMatch(/^needed: /);
      expect(p['testbed step']).toMatch(/^unavailable on (Fedora Linux 41|Rocky Linux 9\.4).*: the testbed boots Debian's kernel \(linux-image-amd64\)/);
    }
  });

  it('Arch: a pacman hint', () => {
    const p = plan(['--for', 'build'], { os: ARCH });
    expect(p['package step']).toMatch(/pacman -S --needed base-devel/);
  });

  it('Ubuntu: apt-get with the same names, but the testbed is Debian-only', () => {
    const p = plan(['--for', 'demo'], { os: UBUNTU, installed: 'python3' });
    expect(p.distribution).toBe('ubuntu (Ubuntu 24.04.1 LTS)');
    expect(p['package step']).toMatch(/^apt-get install --no-install-recommends build-essential pkg-config/);
    expect(p.testbed).toBe('needed: this host has no active RDMA device');
    expect(p['testbed step']).toMatch(/^unavailable on Ubuntu 24\.04\.1 LTS: .*Debian hosts only$/);
  });

  it('no os-release: the Debian names as a hint', () => {
    const p = plan(['--for', 'build'], { os: join(scratch, 'absent') });
    expect(p.distribution).toBe('unknown (unknown distribution)');
    expect(p['package step']).toMatch(/^by hand .*the equivalents of these Debian packages: build-essential/);
  });

  it('rejects an unknown purpose', () => {
    const r = spawnSync('bash', [SETUP, '--plan', '--for', 'everything'], { encoding: 'utf8', env: { PATH: bin } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--for wants build, demo, bench or test/);
  });
});
