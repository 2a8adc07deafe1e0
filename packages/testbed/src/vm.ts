/**
 * Runs a command inside a throwaway qemu VM that has a real SoftRoCE device.
 *
 * The VM boots Debian's generic kernel over this machine's own filesystem
 * (read-only 9p under a tmpfs overlay: the command sees every host file, and
 * nothing it writes reaches the host), loads rdma_rxe, puts `rxe0` on a
 * dummy interface at 10.9.0.1 (rdma_cm needs a real netdev, not `lo`), runs
 * the command in the caller's directory and powers off.
 * @module
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { prepare, type Testbed } from './cache.js';

/** Address of `dum0`, the interface rxe0 sits on inside the VM. */
export const TESTBED_IP = '10.9.0.1';
/** The RDMA device the VM provides. */
export const TESTBED_DEVICE = 'rxe0';

/** Options of {@link runInTestbed}. */
export interface RunOptions {
  /** The command and its arguments (no shell). */
  command: string[];
  /** Working directory inside the VM; default `process.cwd()`. */
  cwd?: string;
  /** Extra environment for the command (added to a clean base environment). */
  env?: Record<string, string>;
  /** VM memory in MiB. Default 3072. */
  memoryMiB?: number;
  /** vCPUs. Default 2. */
  cpus?: number;
  /** Kill the VM after this long. Default 30 minutes. */
  timeoutMs?: number;
  /** Receives the command's output (stdout and stderr, merged) as it arrives. */
  onOutput?: (chunk: string) => void;
  /** Receives progress lines (boot time...). Default: stderr, unless `quiet`. */
  log?: (line: string) => void;
  quiet?: boolean;
}

/** What {@link runInTestbed} returns. */
export interface RunResult {
  /** The command's exit code (125: the testbed failed; 124: timed out). */
  exitCode: number;
  /** Everything the command printed. */
  output: string;
  /** From qemu start to the command start (device ready), in ms. */
  bootMs: number;
  /** From qemu start to VM exit, in ms. */
  totalMs: number;
}

const BEGIN = '@@RDMAJS_BEGIN@@';
const EXIT_RE = /@@RDMAJS_EXIT=(\d+)@@/;
// Variables passed through from the caller's environment when set.
const PASS_ENV = ['CI', 'NO_COLOR', 'FORCE_COLOR', 'TERM', 'LANG', 'TZ', 'RDMAJS_DEBUG', 'NODE_OPTIONS'];

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The job script the VM runs (in the chroot of the host's filesystem). */
function jobScript(tb: Testbed, opts: RunOptions, rcFile: string): string {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    RDMAJS_TESTBED: '1',
    RDMAJS_DEVICE: TESTBED_DEVICE,
    RDMAJS_TESTBED_IP: TESTBED_IP,
  };
  for (const k of PASS_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  Object.assign(env, opts.env ?? {});
  const bb = shQuote(tb.busybox);
  return [
    '#!/bin/sh',
    `for m in rdma_rxe rdma_ucm ib_uverbs dummy; do ${bb} modprobe $m || echo "rdmajs-testbed: modprobe $m failed"; done`,
    'ulimit -l unlimited',
    'ip link set lo up',
    'ip link add dum0 type dummy && ip addr add ' + `${TESTBED_IP}/24` + ' dev dum0 && ip link set dum0 up',
    `rdma link add ${TESTBED_DEVICE} type rxe netdev dum0 || { echo "rdmajs-testbed: could not create ${TESTBED_DEVICE}"; echo "@@RDMAJS_EXIT=125@@"; exit; }`,
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shQuote(v)}`),
    `cd ${shQuote(opts.cwd ?? process.cwd())} || { echo "@@RDMAJS_EXIT=125@@"; exit; }`,
    `echo ${BEGIN}`,
    // Through a pipe, so the command sees no TTY (no progress redraws); the
    // exit code travels through a file because sh has no pipefail.
    `{ ${opts.command.map(shQuote).join(' ')} </dev/null; echo $? > ${rcFile}; } 2>&1 | cat`,
    `echo "@@RDMAJS_EXIT=$(cat ${rcFile})@@"`,
    '',
  ].join('\n');
}

/**
 * Boots the testbed, runs `command` in it, and resolves with its exit code
 * and output. Prepares the cache first if needed.
 */
export async function runInTestbed(opts: RunOptions): Promise<RunResult> {
  if (!Array.isArray(opts.command) || opts.command.length === 0 || !opts.command.every((a) => typeof a === 'string')) {
    throw new TypeError('runInTestbed: command must be a non-empty array of strings');
  }
  const log = opts.log ?? (opts.quiet ? () => {} : (s: string) => process.stderr.write(`[rdmajs-testbed] ${s}\n`));
  const tb = await prepare({ log });
  const dir = mkdtempSync(join(tmpdir(), 'rdmajs-testbed-'));
  const job = join(dir, 'job.sh');
  writeFileSync(job, jobScript(tb, opts, '/run/rdmajs-rc'), { mode: 0o755 });

  const kvm = kvmUsable();
  const args = [
    '-machine', `q35,accel=${kvm ? 'kvm' : 'tcg'}`,
    '-cpu', kvm ? 'host' : 'max',
    '-m', String(opts.memoryMiB ?? 3072),
    '-smp', String(opts.cpus ?? 2),
    // No monitor and no display; the serial console is qemu's stdio, which
    // works with stdin closed or /dev/null (CI has no standard input).
    '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
    '-kernel', tb.vmlinuz, '-initrd', tb.initrd,
    '-append', `console=ttyS0 quiet loglevel=1 panic=-1 rdmajs.job=${job} rdmajs.cache=${tb.root}`,
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
  ];
  const started = Date.now();
  log(`booting ${tb.kernelVersion} (${kvm ? 'kvm' : 'tcg emulation'}) for: ${opts.command.join(' ')}`);
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });

  return new Promise<RunResult>((resolve, reject) => {
    let buffered = '';
    let begun = false;
    let bootMs = 0;
    let exitCode: number | undefined;
    let output = '';
    let qemuErr = '';
    let bootLog = '';
    const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
    const timer = setTimeout(() => {
      log(`timed out after ${timeoutMs} ms: killing the VM`);
      exitCode ??= 124;
      qemu.kill('SIGKILL');
    }, timeoutMs);

    const emit = (text: string) => {
      output += text;
      opts.onOutput?.(text);
    };
    // Lines before BEGIN are boot noise (kept for diagnostics); lines after it
    // are the command's, up to the exit marker.
    const onLine = (line: string) => {
      if (exitCode !== undefined) return;
      const m = EXIT_RE.exec(line);
      if (m) {
        const before = line.slice(0, m.index);
        if (begun && before) emit(before + '\n');
        exitCode = Number(m[1]);
        return;
      }
      if (!begun) {
        if (line.includes(BEGIN)) {
          begun = true;
          bootMs = Date.now() - started;
          log(`${TESTBED_DEVICE} ready in ${(bootMs / 1000).toFixed(1)} s`);
        } else {
          bootLog += line + '\n';
        }
        return;
      }
      emit(line + '\n');
    };
    qemu.stdout.setEncoding('utf8');
    qemu.stdout.on('data', (chunk: string) => {
      buffered += chunk.replace(/\r/g, '');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    qemu.stderr.setEncoding('utf8');
    qemu.stderr.on('data', (chunk: string) => (qemuErr += chunk));
    qemu.on('error', (err) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`rdmajs-testbed: cannot start qemu-system-x86_64 (${err.message}); install qemu-system-x86`));
    });
    qemu.on('close', (code) => {
      clearTimeout(timer);
      if (buffered) onLine(buffered);
      rmSync(dir, { recursive: true, force: true });
      const totalMs = Date.now() - started;
      if (exitCode === undefined) {
        const why = `the VM stopped (qemu exit ${code}) before the command finished`;
        log(`${why}\n--- qemu stderr ---\n${qemuErr}\n--- console ---\n${bootLog.slice(-4000)}`);
        exitCode = 125;
      } else if (exitCode === 125 && !begun) {
        log(`the testbed failed to start:\n${bootLog.slice(-4000)}`);
      }
      resolve({ exitCode, output, bootMs, totalMs });
    });
  });
}
