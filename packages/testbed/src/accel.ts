/**
 * Host probing: whether VMs run under KVM or TCG emulation, and which CPU
 * model TCG emulates. Read once per process (the answer cannot change).
 * @module
 */
import { accessSync, constants, readFileSync } from 'node:fs';

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
  return (accelChoice ??= probe());
}

function probe(): { accel: Acceleration; why: string } {
  const forced = process.env.RDMAJS_TESTBED_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'RDMAJS_TESTBED_ACCEL' };
  if (forced) throw new RangeError(`RDMAJS_TESTBED_ACCEL must be 'kvm' or 'tcg', got '${forced}'`);
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', why: 'no usable /dev/kvm' };
  }
  let flags: string;
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // unreadable: decide on /dev/kvm alone
    return { accel: 'kvm', why: '/dev/kvm' };
  }
  if (!/\b(vmx|svm)\b/.test(flags)) {
    return { accel: 'tcg', why: '/dev/kvm exists but the CPU offers no vmx/svm (nested KVM would fail)' };
  }
  return { accel: 'kvm', why: '/dev/kvm and vmx/svm' };
}

/** The CPU model emulated under TCG: `RDMAJS_TESTBED_CPU`, else `max`. */
export function tcgCpu(): string {
  return process.env.RDMAJS_TESTBED_CPU || 'max';
}
