#!/usr/bin/env node
/**
 * rdmajs-testbed: a SoftRoCE VM on demand.
 *
 *   rdmajs-testbed run [--memory MiB] [--cpus N] [--timeout s] [--timing mode] -- <cmd...>
 *   rdmajs-testbed auto [...] -- <cmd...>   on this host's RDMA device if it has one, else in the VM
 *   rdmajs-testbed pair [...] -- <cmd for A...> --- <cmd for B...>   two VMs joined by a link
 *   rdmajs-testbed prepare                  fetch the kernel and build the initramfs (once)
 *   rdmajs-testbed doctor                   check what this machine has
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { pairExitCode, parsePairArgs, parseRunArgs, prefixLines } from './args.js';
import { cacheDir, cachedTestbed, prepare } from './cache.js';
import { activeRdmaDevices } from './detect.js';
import { TIMING_ENV, resolveTiming, timingPlan } from './timing.js';
import { TESTBED_PAIR_IPS, acceleration, runInTestbed, runInTestbedPair } from './vm.js';

const USAGE = `usage:
  rdmajs-testbed run [--memory MiB] [--cpus N] [--timeout s] [--timing mode] [--quiet] -- <command...>
      run the command in a SoftRoCE VM (rxe0 at 10.9.0.1), in this directory;
      exits with the command's exit code
      --timing threaded        (default; \$${TIMING_ENV}) multi-threaded emulation, 2 vCPUs:
                               fast, but figures follow host load
      --timing deterministic   qemu icount, 1 vCPU: guest ns = guest instructions, so
                               performance figures repeat whatever the host does
  rdmajs-testbed auto [same options] -- <command...>
      run on this host's RDMA device if it has an active one (--timing does
      not apply there), else as 'run'
  rdmajs-testbed pair [same options] -- <command for A...> --- <command for B...>
      two VMs joined by a virtual link, A at ${TESTBED_PAIR_IPS.a} and B at ${TESTBED_PAIR_IPS.b}
      (rxe0 on each); runs one command in each, concurrently, output prefixed
      [a] / [b]; exits with A's exit code if it failed, else with B's
  rdmajs-testbed prepare    download the kernel and build the initramfs (cached)
  rdmajs-testbed doctor     check qemu, packages, cache and devices
`;

async function runVm(argv: string[]): Promise<number> {
  const opts = parseRunArgs(argv);
  const result = await runInTestbed({ ...opts, onOutput: (s) => process.stdout.write(s) });
  return result.exitCode;
}

async function runPair(argv: string[]): Promise<number> {
  const { a, b, ...opts } = parsePairArgs(argv);
  const result = await runInTestbedPair({
    ...opts,
    a: { command: a },
    b: { command: b },
    onOutput: (host, s) => process.stdout.write(prefixLines(`[${host}] `, s)),
  });
  if (!opts.quiet) {
    for (const host of ['a', 'b'] as const) {
      const r = result[host];
      process.stderr.write(`[rdmajs-testbed] ${host}: exit ${r.exitCode}, boot ${(r.bootMs / 1000).toFixed(1)} s, total ${(r.totalMs / 1000).toFixed(1)} s\n`);
    }
  }
  return pairExitCode(result.a.exitCode, result.b.exitCode);
}

function runHost(command: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit' });
    child.on('error', (err) => {
      process.stderr.write(`rdmajs-testbed: ${err.message}\n`);
      resolve(127);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function doctor(): number {
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

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return runVm(rest);
    case 'pair':
      return runPair(rest);
    case 'auto': {
      const opts = parseRunArgs(rest);
      const host = activeRdmaDevices();
      if (host.length > 0) {
        process.stderr.write(`[rdmajs-testbed] using this host's RDMA device(s): ${host.join(', ')}\n`);
        if (resolveTiming(opts.timing) === 'deterministic') {
          process.stderr.write('[rdmajs-testbed] timing: native hardware; deterministic timing applies only to the VM\n');
        }
        return runHost(opts.command);
      }
      return runVm(rest);
    }
    case 'prepare': {
      const tb = await prepare();
      console.log(`testbed ready: kernel ${tb.kernelVersion} in ${tb.root}`);
      return 0;
    }
    case 'doctor':
      return doctor();
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 1 : 0;
    default:
      process.stderr.write(`rdmajs-testbed: unknown command '${cmd}'\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`rdmajs-testbed: ${err.message}\n`);
    process.exit(125);
  },
);
