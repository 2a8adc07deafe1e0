/**
 * Runs commands inside throwaway qemu VMs that have a real SoftRoCE device.
 *
 * Each VM boots Debian's generic kernel over this machine's own filesystem
 * (read-only 9p under a tmpfs overlay: the command sees every host file, and
 * nothing it writes reaches the host), loads rdma_rxe, runs the command in
 * the caller's directory and powers off.
 *
 * - {@link runInTestbed}: one VM; `rxe0` sits on a dummy interface at
 *   10.9.0.1 (rdma_cm needs a real netdev, not `lo`).
 * - {@link runInTestbedPair}: two VMs, A and B, joined by a qemu socket
 *   netdev on 127.0.0.1 (a virtual Ethernet cable); each has `rxe0` on its
 *   virtio-net interface, at 10.9.1.1 and 10.9.1.2.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { prepare, type Testbed } from './cache.js';
import { debuglog } from './debug.js';
import { resolveTiming, timingPlan, type Timing, type TimingPlan } from './timing.js';

/** Address of `dum0`, the interface rxe0 sits on inside the single VM. */
export const TESTBED_IP = '10.9.0.1';
/** The RDMA device the VM provides. */
export const TESTBED_DEVICE = 'rxe0';

/** One of the two hosts of {@link runInTestbedPair}. */
export type PairHost = 'a' | 'b';
/** Addresses of the two hosts of {@link runInTestbedPair} (one /24). */
export const TESTBED_PAIR_IPS: Readonly<Record<PairHost, string>> = { a: '10.9.1.1', b: '10.9.1.2' };
const PAIR_MACS: Record<PairHost, string> = { a: '52:54:00:09:01:01', b: '52:54:00:09:01:02' };

/** Options common to {@link runInTestbed} and {@link runInTestbedPair}. */
export interface VmOptions {
  /** Working directory inside the VM(s); default `process.cwd()`. */
  cwd?: string;
  /** Memory of each VM in MiB. Default 3072. */
  memoryMiB?: number;
  /** vCPUs of each VM. Default 2 (threaded timing); deterministic timing has 1. */
  cpus?: number;
  /**
   * `threaded` (default, or `$RDMAJS_TESTBED_TIMING`): multi-threaded
   * emulation, fast, figures follow host load. `deterministic`: qemu icount
   * on one vCPU, guest ns = guest instructions, so benchmark figures repeat
   * whatever the host does. See {@link Timing}.
   */
  timing?: Timing;
  /** Kill the VM(s) after this long. Default 30 minutes. */
  timeoutMs?: number;
  /** Receives progress lines (boot time...). Default: stderr, unless `quiet`. */
  log?: (line: string) => void;
  /** No progress lines on stderr (ignored when `log` is given). Default false. */
  quiet?: boolean;
}

/** Options of {@link runInTestbed}. */
export interface RunOptions extends VmOptions {
  /** The command and its arguments (no shell). */
  command: string[];
  /** Extra environment for the command (added to a clean base environment). */
  env?: Record<string, string>;
  /** Receives the command's output (stdout and stderr, merged) as it arrives. */
  onOutput?: (chunk: string) => void;
}

/** What {@link runInTestbed} returns (and {@link runInTestbedPair}, per host). */
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

/** What one host of {@link runInTestbedPair} runs. */
export interface PairCommand {
  /** The command and its arguments (no shell). */
  command: string[];
  /** Extra environment for the command. */
  env?: Record<string, string>;
}

/** Options of {@link runInTestbedPair}. */
export interface PairOptions extends VmOptions {
  /** Runs in host A, 10.9.1.1. */
  a: PairCommand;
  /** Runs in host B, 10.9.1.2. */
  b: PairCommand;
  /** Receives each host's output, a line at a time, as it arrives. */
  onOutput?: (host: PairHost, chunk: string) => void;
}

/** What {@link runInTestbedPair} returns: each host's result. */
export type PairResult = Record<PairHost, RunResult>;

const debug = debuglog('testbed');

const BEGIN = '@@RDMAJS_BEGIN@@';
// Printed by a pair VM once its rxe0 is up, before it waits for the peer.
const RXE_UP = '@@RDMAJS_RXE_UP@@';
const EXIT_RE = /@@RDMAJS_EXIT=(\d+)@@/;
const RC_FILE = '/run/rdmajs-rc';
const DEFAULT_TIMEOUT_MS = 30 * 60_000;
// Variables passed through from the caller's environment when set.
const PASS_ENV = ['CI', 'NO_COLOR', 'FORCE_COLOR', 'TERM', 'LANG', 'TZ', 'RDMAJS_DEBUG', 'NODE_OPTIONS'];
// Bounds of the waits inside a pair VM, in seconds.
const NIC_WAIT_S = 20;
const PEER_WAIT_S = 120;
// Bound on connecting the link's two ends on 127.0.0.1, in ms.
const CABLE_WAIT_MS = 10_000;

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** How the testbed runs its VMs: hardware virtualisation, or emulation. */
export type Acceleration = 'kvm' | 'tcg';

let accelChoice: { accel: Acceleration; why: string } | undefined;

/**
 * Whether VMs boot under KVM or TCG, and why. `$RDMAJS_TESTBED_ACCEL`
 * (`kvm` / `tcg`) decides when set. Otherwise KVM needs a usable `/dev/kvm`
 * *and* a CPU that offers virtualisation (`vmx`/`svm` in /proc/cpuinfo):
 * some nested hosts expose `/dev/kvm` without it, and a guest there either
 * dies on start (qemu asserts setting an MSR) or hangs at boot.
 */
export function acceleration(): {
  /** `'kvm'` or `'tcg'` (emulation). */
  accel: Acceleration;
  /** Why, in a few words, e.g. `'RDMAJS_TESTBED_ACCEL'` or `'no usable /dev/kvm'`. */
  why: string;
} {
  if (accelChoice) return accelChoice;
  const forced = process.env.RDMAJS_TESTBED_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return (accelChoice = { accel: forced, why: 'RDMAJS_TESTBED_ACCEL' });
  if (forced) throw new RangeError(`RDMAJS_TESTBED_ACCEL must be 'kvm' or 'tcg', got '${forced}'`);
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return (accelChoice = { accel: 'tcg', why: 'no usable /dev/kvm' });
  }
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // unreadable: decide on /dev/kvm alone
    return (accelChoice = { accel: 'kvm', why: '/dev/kvm' });
  }
  if (!/\b(vmx|svm)\b/.test(flags)) {
    return (accelChoice = { accel: 'tcg', why: '/dev/kvm exists but the CPU offers no vmx/svm (nested KVM would fail)' });
  }
  return (accelChoice = { accel: 'kvm', why: '/dev/kvm and vmx/svm' });
}

function checkCommand(fn: string, what: string, command: unknown): void {
  if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === 'string')) {
    throw new TypeError(`${fn}: ${what} must be a non-empty array of strings`);
  }
}

function makeLog(opts: VmOptions): (line: string) => void {
  return opts.log ?? (opts.quiet ? () => {} : (s: string) => process.stderr.write(`[rdmajs-testbed] ${s}\n`));
}

/** What a job script does, beyond the common part. */
export interface JobSpec {
  command: string[];
  cwd?: string;
  /** The caller's extra environment. */
  env?: Record<string, string>;
  /** The RDMAJS_* variables. */
  testbedEnv: Record<string, string>;
  /** Kernel modules to load besides rdma_rxe, rdma_ucm and ib_uverbs. */
  modules: string[];
  /** Shell lines that find or make the interface rxe0 goes on, named in `$netdev`. */
  netdev: string[];
  /** Shell lines run once rxe0 exists, before the command. */
  ready?: string[];
}

/** The job script a VM runs (in the chroot of the host's filesystem). */
export function jobScript(tb: Testbed, job: JobSpec): string {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    ...job.testbedEnv,
  };
  for (const k of PASS_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  Object.assign(env, job.env ?? {});
  const bb = shQuote(tb.busybox);
  return [
    '#!/bin/sh',
    'fail() { echo "rdmajs-testbed: $*"; echo "@@RDMAJS_EXIT=125@@"; exit 1; }',
    `for m in rdma_rxe rdma_ucm ib_uverbs ${job.modules.join(' ')}; do ${bb} modprobe $m || echo "rdmajs-testbed: modprobe $m failed"; done`,
    // Deterministic runs repeat only if every run lays out memory alike.
    ...(job.testbedEnv.RDMAJS_TESTBED_TIMING === 'deterministic' ? ['echo 0 > /proc/sys/kernel/randomize_va_space'] : []),
    'ulimit -l unlimited',
    'ip link set lo up',
    ...job.netdev,
    `rdma link add ${TESTBED_DEVICE} type rxe netdev "$netdev" || fail "could not create ${TESTBED_DEVICE}"`,
    ...(job.ready ?? []),
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shQuote(v)}`),
    `cd ${shQuote(job.cwd ?? process.cwd())} || fail "no directory ${job.cwd ?? process.cwd()}"`,
    `echo ${BEGIN}`,
    // Through a pipe, so the command sees no TTY (no progress redraws); the
    // exit code travels through a file because sh has no pipefail.
    `{ ${job.command.map(shQuote).join(' ')} </dev/null; echo $? > ${RC_FILE}; } 2>&1 | cat`,
    // A process that crashed or was OOM-killed in the VM says so, with the
    // library it faulted in (the kernel's own line), even when the command
    // that ran it exits 0.
    `${bb} dmesg | grep -E 'segfault at|general protection|traps: |Out of memory|oom-kill' | tail -n 8 | sed 's/^/rdmajs-testbed: kernel: /'`,
    `echo "@@RDMAJS_EXIT=$(cat ${RC_FILE})@@"`,
    '',
  ].join('\n');
}

/** Single VM: rxe0 on a dummy interface (traffic loops back inside rxe). */
function singleJob(opts: RunOptions, timing: Timing): JobSpec {
  return {
    command: opts.command,
    cwd: opts.cwd,
    env: opts.env,
    testbedEnv: { RDMAJS_TESTBED: '1', RDMAJS_DEVICE: TESTBED_DEVICE, RDMAJS_TESTBED_IP: TESTBED_IP, RDMAJS_TESTBED_TIMING: timing },
    modules: ['dummy'],
    netdev: ['netdev=dum0', `ip link add dum0 type dummy && ip addr add ${TESTBED_IP}/24 dev dum0 && ip link set dum0 up`],
  };
}

/**
 * Pair VM: rxe0 on the virtio-net interface (found by its MAC). The address
 * goes up only once rxe0 exists, so a peer that answers a ping has its rxe0;
 * the command starts once the peer answers (bounded).
 */
export function pairJob(tb: Testbed, host: PairHost, cmd: PairCommand, cwd: string | undefined, timing: Timing): JobSpec {
  const peer: PairHost = host === 'a' ? 'b' : 'a';
  const [ip, peerIp, mac] = [TESTBED_PAIR_IPS[host], TESTBED_PAIR_IPS[peer], PAIR_MACS[host]];
  return {
    command: cmd.command,
    cwd,
    env: cmd.env,
    testbedEnv: {
      RDMAJS_TESTBED: '1',
      RDMAJS_DEVICE: TESTBED_DEVICE,
      RDMAJS_TESTBED_IP: ip,
      RDMAJS_TESTBED_PEER_IP: peerIp,
      RDMAJS_TESTBED_HOST: host,
      RDMAJS_TESTBED_TIMING: timing,
    },
    modules: ['virtio_net'],
    netdev: [
      'netdev=',
      `deadline=$(($(date +%s) + ${NIC_WAIT_S}))`,
      'while :; do',
      `  for d in /sys/class/net/*; do [ "$(cat $d/address 2>/dev/null)" = ${mac} ] && netdev=\${d##*/}; done`,
      '  [ -n "$netdev" ] && break',
      `  [ $(date +%s) -lt $deadline ] || fail "no network interface with MAC ${mac} (virtio_net)"`,
      '  sleep 0.1',
      'done',
    ],
    ready: [
      `{ ip addr add ${ip}/24 dev "$netdev" && ip link set "$netdev" up; } || fail "cannot configure $netdev"`,
      `echo ${RXE_UP}`,
      `deadline=$(($(date +%s) + ${PEER_WAIT_S}))`,
      `until ${shQuote(tb.busybox)} ping -c 1 -W 1 ${peerIp} >/dev/null 2>&1; do`,
      `  [ $(date +%s) -lt $deadline ] || fail "the peer ${peerIp} did not answer within ${PEER_WAIT_S} s"`,
      '  sleep 0.2',
      'done',
    ],
  };
}

// ---------------------------------------------------------------------------
// A running VM

interface VmSpec {
  tb: Testbed;
  script: string;
  memoryMiB?: number;
  plan: TimingPlan;
  /** More qemu arguments (a NIC). */
  qemuArgs?: string[];
  /** Given to qemu as its fd 3 (the NIC's socket). */
  fd3?: Socket;
  /** What runs, for the log. */
  what: string;
  log: (line: string) => void;
  onOutput?: (chunk: string) => void;
}

interface VmResult extends RunResult {
  /** The command started (the VM booted and set up rxe0). */
  ready: boolean;
}

interface Vm {
  child: ChildProcess;
  dir: string;
  /** qemu has exited. */
  exited: boolean;
  /** Resolves when qemu has exited; rejects when it could not be started. */
  done: Promise<VmResult>;
  /** Kills the VM; unless the command already finished, its exit code becomes `exitCode`. */
  kill(exitCode: number): void;
}

// VMs still running, killed if this process is interrupted or exits first.
const live = new Set<Vm>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killLive(): void {
  for (const vm of live) {
    vm.child.kill('SIGKILL');
    rmSync(vm.dir, { recursive: true, force: true });
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killLive();
  unwatch();
  // Nobody else handles it: die of it, as this process would have without us.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function watch(vm: Vm): void {
  if (live.size === 0) {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on('exit', killLive);
  }
  live.add(vm);
}

function unwatch(vm?: Vm): void {
  if (vm) live.delete(vm);
  if (live.size === 0) {
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', killLive);
  }
}

/** The CPU model emulated under TCG: `RDMAJS_TESTBED_CPU`, else `max`. */
export function tcgCpu(): string {
  return process.env.RDMAJS_TESTBED_CPU || 'max';
}

function startVm(spec: VmSpec): Vm {
  const { tb, log } = spec;
  const dir = mkdtempSync(join(tmpdir(), 'rdmajs-testbed-'));
  const job = join(dir, 'job.sh');
  writeFileSync(job, spec.script, { mode: 0o755 });

  const { plan } = spec;
  const kvm = !plan.forceTcg && acceleration().accel === 'kvm';
  const args = [
    '-machine', `q35,accel=${kvm ? 'kvm' : 'tcg'}`,
    '-cpu', kvm ? 'host' : tcgCpu(),
    '-m', String(spec.memoryMiB ?? 3072),
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
  const started = Date.now();
  log(`booting ${tb.kernelVersion} (${kvm ? 'kvm' : 'tcg emulation'}, ${plan.cpus} vCPU${plan.cpus > 1 ? 's' : ''}) for: ${spec.what}`);
  log(`timing ${plan.meaning}`);
  if (debug.enabled) debug(`qemu-system-x86_64 ${args.map((a) => (/^[\w,.:=/@+-]+$/.test(a) ? a : shQuote(a))).join(' ')}`);
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe', ...(spec.fd3 ? [spec.fd3] : [])] });
  const [stdout, stderr] = [qemu.stdout!, qemu.stderr!];

  let buffered = '';
  let begun = false;
  let bootMs = 0;
  let exitCode: number | undefined;
  let output = '';
  let qemuErr = '';
  let bootLog = '';
  let killed = false;

  const vm: Vm = {
    child: qemu,
    dir,
    exited: false,
    done: undefined as unknown as Promise<VmResult>,
    kill(code: number) {
      killed = true;
      exitCode ??= code;
      qemu.kill('SIGKILL');
    },
  };
  watch(vm);
  const finish = () => {
    vm.exited = true;
    unwatch(vm);
    rmSync(dir, { recursive: true, force: true });
  };

  const emit = (text: string) => {
    output += text;
    spec.onOutput?.(text);
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
      } else if (line.includes(RXE_UP)) {
        log(`${TESTBED_DEVICE} up in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for the peer`);
      } else {
        debug(`boot: ${line}`);
        bootLog += line + '\n';
      }
      return;
    }
    emit(line + '\n');
  };
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => {
    buffered += chunk.replace(/\r/g, '');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => (qemuErr += chunk));

  vm.done = new Promise<VmResult>((resolve, reject) => {
    qemu.on('error', (err) => {
      finish();
      reject(new Error(`rdmajs-testbed: cannot start qemu-system-x86_64 (${err.message}); install qemu-system-x86`));
    });
    qemu.on('close', (code) => {
      if (buffered) onLine(buffered);
      finish();
      const totalMs = Date.now() - started;
      debug(`qemu exited (${code}) after ${totalMs} ms; command exit ${exitCode ?? 'none'}${killed ? ', killed' : ''}`);
      if (exitCode === undefined) {
        const why = `the VM stopped (qemu exit ${code}) before the command finished`;
        log(`${why}\n--- qemu stderr ---\n${qemuErr}\n--- console ---\n${bootLog.slice(-4000)}`);
        exitCode = 125;
      } else if (exitCode === 125 && !begun && !killed) {
        log(`the testbed failed to start:\n${bootLog.slice(-4000)}`);
      }
      resolve({ exitCode, output, bootMs, totalMs, ready: begun });
    });
  });
  return vm;
}

/** Kills every VM in `vms` (also those added later) after `ms`; returns the disarm function. */
function killAfter(vms: Vm[], ms: number, log: (line: string) => void): () => void {
  const timer = setTimeout(() => {
    log(`timed out after ${ms} ms: killing the VM${vms.length > 1 ? 's' : ''}`);
    for (const vm of vms) vm.kill(124);
  }, ms);
  return () => clearTimeout(timer);
}

function runResult({ ready: _, ...result }: VmResult): RunResult {
  return result;
}

/**
 * Boots the testbed, runs `command` in it, and resolves with its exit code
 * and output. Prepares the cache first if needed.
 */
export async function runInTestbed(opts: RunOptions): Promise<RunResult> {
  checkCommand('runInTestbed', 'command', opts.command);
  const log = makeLog(opts);
  const plan = timingPlan(resolveTiming(opts.timing), opts.cpus);
  const tb = await prepare({ log });
  const vm = startVm({
    tb,
    script: jobScript(tb, singleJob(opts, plan.timing)),
    memoryMiB: opts.memoryMiB,
    plan,
    what: opts.command.join(' '),
    log,
    onOutput: opts.onOutput,
  });
  const disarm = killAfter([vm], opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, log);
  try {
    return runResult(await vm.done);
  } finally {
    disarm();
  }
}

// ---------------------------------------------------------------------------
// Two hosts

/**
 * The virtual cable: a connected TCP pair on 127.0.0.1 (port 0, so the
 * kernel picks a free port), Nagle off on both ends. Each qemu gets one end
 * as fd 3 (`-netdev socket,fd=3`), so no VM has to listen before the other
 * connects. (qemu's own `listen=`/`connect=` sockets keep Nagle on, which
 * made every round trip over the link about 25 ms; this takes about 1 ms.)
 */
export async function cable(timeoutMs: number): Promise<[Socket, Socket]> {
  const srv = createServer();
  const sockets: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<[Socket, Socket]>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('rdmajs-testbed: could not connect the link on 127.0.0.1')), timeoutMs);
      let near: Socket | undefined;
      const pending: Socket[] = [];
      // Another local process could connect first: take only our own connection.
      const match = () => {
        const far = near?.localPort !== undefined ? pending.find((s) => s.remotePort === near!.localPort) : undefined;
        if (near && far) resolve([near, far]);
      };
      srv.on('error', reject);
      srv.on('connection', (s) => {
        sockets.push(s);
        pending.push(s);
        match();
      });
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as AddressInfo;
        const client = connect(port, '127.0.0.1');
        sockets.push(client);
        client.once('error', reject);
        client.once('connect', () => {
          near = client;
          match();
        });
      });
    }).then((ends) => {
      for (const end of ends) end.setNoDelay(true);
      for (const s of sockets) if (!ends.includes(s)) s.destroy();
      return ends;
    });
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
    srv.close();
  }
}

/**
 * Boots two testbed VMs, A (10.9.1.1) and B (10.9.1.2), joined by a qemu
 * socket netdev (a TCP connection on 127.0.0.1), each with `rxe0` on its
 * virtio-net interface; runs `a.command` in A and `b.command` in B
 * concurrently, and resolves with both results. The commands start once each
 * VM can ping the other, at about the same moment. If either VM fails to
 * boot, or `timeoutMs` passes, both are killed.
 */
export async function runInTestbedPair(opts: PairOptions): Promise<PairResult> {
  checkCommand('runInTestbedPair', 'a.command', opts.a?.command);
  checkCommand('runInTestbedPair', 'b.command', opts.b?.command);
  const log = makeLog(opts);
  const plan = timingPlan(resolveTiming(opts.timing), opts.cpus);
  const tb = await prepare({ log });
  const ends = await cable(CABLE_WAIT_MS);
  log(`link: 127.0.0.1:${ends[0].localPort} <-> 127.0.0.1:${ends[1].localPort}`);
  const start = (host: PairHost, end: Socket) =>
    startVm({
      tb,
      script: jobScript(tb, pairJob(tb, host, opts[host], opts.cwd, plan.timing)),
      memoryMiB: opts.memoryMiB,
      plan,
      qemuArgs: ['-netdev', 'socket,id=net0,fd=3', '-device', `virtio-net-pci,netdev=net0,mac=${PAIR_MACS[host]}`],
      fd3: end,
      what: opts[host].command.join(' '),
      log: (line) => log(`${host}: ${line}`),
      onOutput: opts.onOutput && ((chunk) => opts.onOutput!(host, chunk)),
    });

  let a: Vm | undefined;
  let b: Vm | undefined;
  try {
    a = start('a', ends[0]);
    b = start('b', ends[1]);
  } catch (err) {
    a?.kill(125);
    throw err;
  } finally {
    // The qemus hold their own copies; this process must never read from the link.
    for (const end of ends) end.destroy();
  }
  const disarm = killAfter([a, b], opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, log);
  try {
    // One side down before its command started: the other would wait in vain.
    const stopOtherIfUnready = (host: PairHost, vm: Vm, other: Vm) =>
      vm.done.then(
        (r) => {
          if (!r.ready && !other.exited) {
            log(`host ${host} failed to start: stopping the other`);
            other.kill(125);
          }
        },
        () => other.kill(125),
      );
    void stopOtherIfUnready('a', a, b);
    void stopOtherIfUnready('b', b, a);
    const [ra, rb] = await Promise.allSettled([a.done, b.done]);
    if (ra.status === 'rejected') throw ra.reason;
    if (rb.status === 'rejected') throw rb.reason;
    return { a: runResult(ra.value), b: runResult(rb.value) };
  } finally {
    disarm();
  }
}
