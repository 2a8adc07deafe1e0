/**
 * How time passes inside a testbed VM: the timing mode.
 *
 * - `threaded` (default): qemu's multi-threaded TCG (or KVM), 2 vCPUs by
 *   default. Fast to boot and run, but every figure depends on how busy the
 *   host is: bandwidth moves up to 2x between runs, and emulation charges
 *   JIT-compiled code more than C.
 * - `deterministic`: `-icount shift=0,sleep=off` on one vCPU. Guest time
 *   advances one nanosecond per guest instruction and jumps over idle time,
 *   so a benchmark's figures are instruction counts in disguise: the same
 *   run gives the same numbers (perftest repeats to 0.01 %), whatever else
 *   the host is doing. One vCPU only: with `-smp 2` the 6.1 kernel hangs
 *   bringing up the second CPU under icount (qemu 7.2). Busy-poll latency is
 *   meaningless there (two spinning processes share the one CPU), and wall
 *   time is longer than in threaded mode.
 * @module
 */

/** The timing mode of a testbed VM. */
export type Timing = 'threaded' | 'deterministic';

/** All timing modes, for argument checks and help texts. */
export const TIMINGS: readonly Timing[] = ['threaded', 'deterministic'];

/** The environment variable that picks the default mode. */
export const TIMING_ENV = 'RDMAJS_TESTBED_TIMING';

/** vCPUs a deterministic VM has (the only count that boots under icount). */
export const DETERMINISTIC_CPUS = 1;

/** Checks a mode given as text (a flag or the environment). */
export function parseTiming(value: string, from: string): Timing {
  if ((TIMINGS as readonly string[]).includes(value)) return value as Timing;
  throw new RangeError(`${from} must be one of ${TIMINGS.join(', ')}, got '${value}'`);
}

/** The mode asked for, else `$RDMAJS_TESTBED_TIMING`, else `threaded`. */
export function resolveTiming(asked: Timing | undefined, env: NodeJS.ProcessEnv = process.env): Timing {
  if (asked !== undefined) return parseTiming(asked, 'timing');
  const fromEnv = env[TIMING_ENV];
  return fromEnv ? parseTiming(fromEnv, TIMING_ENV) : 'threaded';
}

/** What qemu gets for a mode, and what the figures it gives mean. */
export interface TimingPlan {
  /** The timing mode this plan implements. */
  timing: Timing;
  /** Deterministic mode needs TCG: icount does not exist under KVM. */
  forceTcg: boolean;
  /** vCPUs of the VM. */
  cpus: number;
  /** Extra qemu arguments. */
  qemuArgs: string[];
  /** One line for the banner and `doctor`. */
  meaning: string;
}

/**
 * The qemu settings for `timing`, given the vCPUs the caller asked for.
 * @throws RangeError when deterministic mode is asked for with more than one vCPU.
 */
export function timingPlan(timing: Timing, cpus: number | undefined): TimingPlan {
  if (timing === 'deterministic') {
    if (cpus !== undefined && cpus !== DETERMINISTIC_CPUS) {
      throw new RangeError(
        `deterministic timing runs ${DETERMINISTIC_CPUS} vCPU (qemu's icount hangs the kernel's bring-up of a second one); got cpus ${cpus}`,
      );
    }
    return {
      timing,
      forceTcg: true,
      cpus: DETERMINISTIC_CPUS,
      qemuArgs: ['-icount', 'shift=0,sleep=off'],
      meaning: 'deterministic (icount, 1 vCPU): guest ns = guest instructions; host load does not change the figures',
    };
  }
  return {
    timing,
    forceTcg: false,
    cpus: cpus ?? 2,
    qemuArgs: [],
    meaning: 'threaded: figures follow host load (up to 2x run to run under emulation)',
  };
}
