/**
 * The job script a testbed VM runs (in the chroot of the host's filesystem,
 * started by assets/init.sh): load rdma_rxe, put rxe0 on a network
 * interface, set the environment, run the command between the console
 * markers, report kernel crash lines. {@link singleJob} and {@link pairJob}
 * say what differs between the single VM and the two hosts of a pair.
 * @module
 */
import { PAIR_MACS, TESTBED_DEVICE, TESTBED_IP, TESTBED_PAIR_IPS, peerOf, type PairHost } from './addresses.js';
import type { Testbed } from './cache.js';
import { TESTBED_FAILED_EXIT_CODE } from './exit-codes.js';
import { BEGIN_MARKER, RXE_UP_MARKER, exitMarker } from './markers.js';
import { shQuote, waitFor } from './shell.js';
import type { Timing } from './timing.js';
import type { PairCommand, RunOptions } from './types.js';

const RC_FILE = '/run/rdmajs-rc';
// Variables passed through from the caller's environment when set.
const PASS_ENV = ['CI', 'NO_COLOR', 'FORCE_COLOR', 'TERM', 'LANG', 'TZ', 'RDMAJS_DEBUG', 'NODE_OPTIONS'];
// Bounds of the waits inside a pair VM, in seconds.
const NIC_WAIT_S = 20;
const PEER_WAIT_S = 120;

/** What a job script does, beyond the common part. */
export interface JobSpec {
  /** The command and its arguments (no shell). */
  command: string[];
  /** Where it runs; default `process.cwd()`. */
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
  const cwd = job.cwd ?? process.cwd();
  return [
    '#!/bin/sh',
    `fail() { echo "rdmajs-testbed: $*"; echo "${exitMarker(TESTBED_FAILED_EXIT_CODE)}"; exit 1; }`,
    `for m in rdma_rxe rdma_ucm ib_uverbs ${job.modules.join(' ')}; do ${bb} modprobe $m || echo "rdmajs-testbed: modprobe $m failed"; done`,
    // Deterministic runs repeat only if every run lays out memory alike.
    ...(job.testbedEnv.RDMAJS_TESTBED_TIMING === 'deterministic' ? ['echo 0 > /proc/sys/kernel/randomize_va_space'] : []),
    'ulimit -l unlimited',
    'ip link set lo up',
    ...job.netdev,
    `rdma link add ${TESTBED_DEVICE} type rxe netdev "$netdev" || fail "could not create ${TESTBED_DEVICE}"`,
    ...(job.ready ?? []),
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shQuote(v)}`),
    `cd ${shQuote(cwd)} || fail "no directory ${cwd}"`,
    `echo ${BEGIN_MARKER}`,
    // Through a pipe, so the command sees no TTY (no progress redraws); the
    // exit code travels through a file because sh has no pipefail.
    `{ ${job.command.map(shQuote).join(' ')} </dev/null; echo $? > ${RC_FILE}; } 2>&1 | cat`,
    // A process that crashed or was OOM-killed in the VM says so, with the
    // library it faulted in (the kernel's own line), even when the command
    // that ran it exits 0.
    `${bb} dmesg | grep -E 'segfault at|general protection|traps: |Out of memory|oom-kill' | tail -n 8 | sed 's/^/rdmajs-testbed: kernel: /'`,
    `echo "${exitMarker(`$(cat ${RC_FILE})`)}"`,
    '',
  ].join('\n');
}

/** Single VM: rxe0 on a dummy interface (traffic loops back inside rxe). */
export function singleJob(opts: RunOptions, timing: Timing): JobSpec {
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
  const [ip, peerIp, mac] = [TESTBED_PAIR_IPS[host], TESTBED_PAIR_IPS[peerOf(host)], PAIR_MACS[host]];
  const nicByMac = `for d in /sys/class/net/*; do [ "$(cat $d/address 2>/dev/null)" = ${mac} ] && echo \${d##*/}; done`;
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
    netdev: waitFor(`netdev=$(${nicByMac}); [ -n "$netdev" ]`, NIC_WAIT_S, 0.1, `no network interface with MAC ${mac} (virtio_net)`),
    ready: [
      `{ ip addr add ${ip}/24 dev "$netdev" && ip link set "$netdev" up; } || fail "cannot configure $netdev"`,
      `echo ${RXE_UP_MARKER}`,
      ...waitFor(`${shQuote(tb.busybox)} ping -c 1 -W 1 ${peerIp} >/dev/null 2>&1`, PEER_WAIT_S, 0.2, `the peer ${peerIp} did not answer within ${PEER_WAIT_S} s`),
    ],
  };
}
