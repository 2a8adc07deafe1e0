/**
 * One running VM: writes its job script to a scratch directory, starts
 * qemu-system-x86_64 on the cached kernel and initramfs with the host's /
 * shared read-only over 9p, feeds the serial console to a
 * {@link ConsoleParser}, and resolves with the command's result when qemu
 * exits. The reaper kills it if this process goes first.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { acceleration, tcgCpu } from './accel.js';
import { TESTBED_DEVICE } from './addresses.js';
import type { Testbed } from './cache.js';
import { ConsoleParser } from './console.js';
import { debuglog } from './debug.js';
import { TESTBED_FAILED_EXIT_CODE } from './exit-codes.js';
import { release, track } from './reaper.js';
import { shQuote } from './shell.js';
import type { TimingPlan } from './timing.js';
import type { RunResult } from './types.js';

const debug = debuglog('testbed');

/** Memory of a VM when the caller names none, in MiB. */
export const DEFAULT_MEMORY_MIB = 3072;

/** What {@link startVm} boots. */
export interface VmSpec {
  /** The cached kernel, initramfs and busybox. */
  tb: Testbed;
  /** The job script (see job.ts). */
  script: string;
  /** Memory in MiB; default {@link DEFAULT_MEMORY_MIB}. */
  memoryMiB?: number;
  /** vCPUs, accelerator and qemu arguments of the timing mode. */
  plan: TimingPlan;
  /** More qemu arguments (a NIC). */
  qemuArgs?: string[];
  /** Given to qemu as its fd 3 (the NIC's socket). */
  fd3?: Socket;
  /** What runs, for the log. */
  what: string;
  /** Receives progress lines. */
  log: (line: string) => void;
  /** Receives the command's output as it arrives. */
  onOutput?: (chunk: string) => void;
}

/** What a VM ends with: the command's result, and whether it ever started. */
export interface VmResult extends RunResult {
  /** The command started (the VM booted and set up rxe0). */
  ready: boolean;
}

/** A VM {@link startVm} started. */
export interface Vm {
  /** The qemu process. */
  child: ChildProcess;
  /** Its scratch directory, removed when it exits. */
  dir: string;
  /** qemu has exited. */
  exited: boolean;
  /** Resolves when qemu has exited; rejects when it could not be started. */
  done: Promise<VmResult>;
  /** Kills the VM; unless the command already finished, its exit code becomes `exitCode`. */
  kill(exitCode: number): void;
}

/** qemu's command line for `spec`, the job script being at `job`. */
function qemuArgs(spec: VmSpec, job: string, kvm: boolean): string[] {
  const { tb, plan } = spec;
  return [
    '-machine', `q35,accel=${kvm ? 'kvm' : 'tcg'}`,
    '-cpu', kvm ? 'host' : tcgCpu(),
    '-m', String(spec.memoryMiB ?? DEFAULT_MEMORY_MIB),
    '-smp', String(plan.cpus),
    ...plan.qemuArgs,
    // No monitor and no display; the serial console is qemu's stdio, which
    // works with stdin closed or /dev/null (CI has no standard input).
    '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
    '-kernel', tb.vmlinuz, '-initrd', tb.initrd,
    '-append', `console=ttyS0 quiet loglevel=1 panic=-1 rdmajs.job=${job} rdmajs.cache=${tb.root}`,
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    ...(spec.qemuArgs ?? []),
  ];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Boots a VM that runs `spec.script`; its `done` settles when qemu exits. */
export function startVm(spec: VmSpec): Vm {
  const { tb, plan, log } = spec;
  const dir = mkdtempSync(join(tmpdir(), 'rdmajs-testbed-'));
  const job = join(dir, 'job.sh');
  writeFileSync(job, spec.script, { mode: 0o755 });

  const kvm = !plan.forceTcg && acceleration().accel === 'kvm';
  const args = qemuArgs(spec, job, kvm);
  const started = Date.now();
  log(`booting ${tb.kernelVersion} (${kvm ? 'kvm' : 'tcg emulation'}, ${plan.cpus} vCPU${plan.cpus > 1 ? 's' : ''}) for: ${spec.what}`);
  log(`timing ${plan.meaning}`);
  if (debug.enabled) debug(`qemu-system-x86_64 ${args.map((a) => (/^[\w,.:=/@+-]+$/.test(a) ? a : shQuote(a))).join(' ')}`);
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe', ...(spec.fd3 ? [spec.fd3] : [])] });

  let bootMs = 0;
  let qemuErr = '';
  let killed = false;
  const parser = new ConsoleParser({
    onOutput: (text) => spec.onOutput?.(text),
    onBegin: () => {
      bootMs = Date.now() - started;
      log(`${TESTBED_DEVICE} ready in ${seconds(bootMs)}`);
    },
    onRxeUp: () => log(`${TESTBED_DEVICE} up in ${seconds(Date.now() - started)}; waiting for the peer`),
    onBootLine: (line) => debug(`boot: ${line}`),
  });
  qemu.stdout!.setEncoding('utf8').on('data', (chunk: string) => parser.write(chunk));
  qemu.stderr!.setEncoding('utf8').on('data', (chunk: string) => (qemuErr += chunk));

  const vm: Vm = {
    child: qemu,
    dir,
    exited: false,
    done: undefined as unknown as Promise<VmResult>,
    kill(code: number) {
      killed = true;
      parser.settle(code);
      qemu.kill('SIGKILL');
    },
  };
  track(vm);
  const finish = () => {
    vm.exited = true;
    release(vm);
    rmSync(dir, { recursive: true, force: true });
  };

  vm.done = new Promise<VmResult>((resolve, reject) => {
    qemu.on('error', (err) => {
      finish();
      reject(new Error(`rdmajs-testbed: cannot start qemu-system-x86_64 (${err.message}); install qemu-system-x86`));
    });
    qemu.on('close', (code) => {
      parser.end();
      finish();
      const totalMs = Date.now() - started;
      debug(`qemu exited (${code}) after ${totalMs} ms; command exit ${parser.exitCode ?? 'none'}${killed ? ', killed' : ''}`);
      const exitCode = parser.exitCode ?? TESTBED_FAILED_EXIT_CODE;
      if (parser.exitCode === undefined) {
        const why = `the VM stopped (qemu exit ${code}) before the command finished`;
        log(`${why}\n--- qemu stderr ---\n${qemuErr}\n--- console ---\n${parser.bootLog}`);
      } else if (exitCode === TESTBED_FAILED_EXIT_CODE && !parser.begun && !killed) {
        log(`the testbed failed to start:\n${parser.bootLog}`);
      }
      resolve({ exitCode, output: parser.output, bootMs, totalMs, ready: parser.begun });
    });
  });
  return vm;
}
