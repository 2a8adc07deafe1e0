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
 *
 * This module orchestrates; the pieces are job.ts (the guest's script),
 * qemu.ts (one VM), cable.ts (the link) and reaper.ts (signals).
 * @module
 */
import type { Socket } from 'node:net';

import type { PairHost } from './addresses.js';
import { CABLE_WAIT_MS, cable, cableNicArgs } from './cable.js';
import { prepare } from './cache.js';
import { TESTBED_FAILED_EXIT_CODE, TIMED_OUT_EXIT_CODE } from './exit-codes.js';
import { jobScript, pairJob, singleJob } from './job.js';
import { logToStderr } from './log.js';
import { startVm, type Vm, type VmResult } from './qemu.js';
import { resolveTiming, timingPlan } from './timing.js';
import type { PairOptions, PairResult, RunOptions, RunResult, VmOptions } from './types.js';

/** How long a run may take when the caller names no `timeoutMs`. */
const DEFAULT_TIMEOUT_MS = 30 * 60_000;

function checkCommand(fn: string, what: string, command: unknown): void {
  if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === 'string')) {
    throw new TypeError(`${fn}: ${what} must be a non-empty array of strings`);
  }
}

/** What every run needs first: its log, its timing plan and the prepared cache. */
async function setUp(opts: VmOptions) {
  const log = opts.log ?? (opts.quiet ? () => {} : logToStderr);
  const plan = timingPlan(resolveTiming(opts.timing), opts.cpus);
  const tb = await prepare({ log });
  return { log, plan, tb };
}

/** Kills every VM in `vms` after `ms` (exit code 124); returns the disarm function. */
function killAfter(vms: Vm[], ms: number, log: (line: string) => void): () => void {
  const timer = setTimeout(() => {
    log(`timed out after ${ms} ms: killing the VM${vms.length > 1 ? 's' : ''}`);
    for (const vm of vms) vm.kill(TIMED_OUT_EXIT_CODE);
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
  const { log, plan, tb } = await setUp(opts);
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
  const { log, plan, tb } = await setUp(opts);
  const ends = await cable(CABLE_WAIT_MS);
  log(`link: 127.0.0.1:${ends[0].localPort} <-> 127.0.0.1:${ends[1].localPort}`);
  const start = (host: PairHost, end: Socket) =>
    startVm({
      tb,
      script: jobScript(tb, pairJob(tb, host, opts[host], opts.cwd, plan.timing)),
      memoryMiB: opts.memoryMiB,
      plan,
      qemuArgs: cableNicArgs(host),
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
    a?.kill(TESTBED_FAILED_EXIT_CODE);
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
            other.kill(TESTBED_FAILED_EXIT_CODE);
          }
        },
        () => other.kill(TESTBED_FAILED_EXIT_CODE),
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
