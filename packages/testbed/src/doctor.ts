/**
 * `rdmajs-testbed doctor`: what this machine has for the testbed (qemu,
 * packages, acceleration, timing, the cache, its own RDMA devices), one
 * line each, and whether the essentials are there.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { acceleration } from './accel.js';
import { cacheDir, cachedTestbed } from './cache.js';
import { activeRdmaDevices } from './detect.js';
import { TIMING_ENV, resolveTiming, timingPlan } from './timing.js';

/** Prints the report on stdout; returns the exit code: 0 when ready, 1 when essentials are missing. */
export function doctor(): number {
  const row = (ok: boolean | 'info', what: string, detail: string) =>
    console.log(`${ok === 'info' ? ' ' : ok ? '✓' : '✗'} ${what.padEnd(22)} ${detail}`);
  let essential = true;
  const host = activeRdmaDevices();
  row('info', 'host RDMA devices', host.length ? host.join(', ') + ' (tests run on them directly)' : 'none (tests use the VM)');
  const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  for (const [cmd, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['apt-get', 'apt'],
    ['dpkg-deb', 'dpkg'],
    ['cpio', 'cpio'],
    ['ip', 'iproute2'],
    ['rdma', 'iproute2'],
  ] as const) {
    const ok = has(cmd);
    if (!ok && !host.length) essential = false;
    row(ok, cmd, ok ? 'found' : `missing: apt-get install ${pkg}`);
  }
  for (const [file, pkg] of [
    ['/usr/include/infiniband/verbs.h', 'libibverbs-dev'],
    ['/usr/include/rdma/rdma_cma.h', 'librdmacm-dev'],
    ['/etc/libibverbs.d/rxe.driver', 'ibverbs-providers'],
  ] as const) {
    const ok = existsSync(file);
    if (!ok) essential = false;
    row(ok, pkg, ok ? 'installed' : `missing: apt-get install ${pkg}`);
  }
  const { accel, why } = acceleration();
  row('info', 'acceleration', accel === 'kvm' ? `kvm (${why})` : `none: tcg emulation, slower but works (${why})`);
  const timing = resolveTiming(undefined);
  row('info', 'timing', `${timingPlan(timing, undefined).meaning}${process.env[TIMING_ENV] ? ` (${TIMING_ENV})` : ''}`);
  if (timing === 'threaded') row('info', '', `--timing deterministic: ${timingPlan('deterministic', undefined).meaning}`);
  const tb = cachedTestbed();
  row('info', 'testbed cache', tb ? `${tb.kernelVersion} in ${cacheDir()}` : `empty (${cacheDir()}); 'rdmajs-testbed prepare' fills it`);
  console.log(essential ? 'ready' : 'missing essentials above');
  return essential ? 0 : 1;
}
