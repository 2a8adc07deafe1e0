/**
 * # @rdmajs/testbed
 *
 * A real SoftRoCE (`rdma_rxe`) device on any x86-64 Linux machine, even one
 * whose kernel has no RDMA support: a throwaway qemu VM boots Debian's
 * generic kernel over this machine's own filesystem and runs your command
 * next to `rxe0`.
 *
 * ```ts
 * import { runInTestbed, hasRdmaDevice } from '@rdmajs/testbed';
 * const { exitCode, output } = await runInTestbed({ command: ['ibv_devinfo'] });
 * ```
 *
 * Figures that repeat run to run whatever the host is doing (one vCPU, guest
 * ns = guest instructions), for benchmarks and performance checks in CI:
 *
 * ```ts
 * await runInTestbed({ command: ['ib_send_lat', '-e'], timing: 'deterministic' });
 * ```
 *
 * Two hosts (two VMs on one virtual link, rxe0 in each), one command in each:
 *
 * ```ts
 * import { runInTestbedPair } from '@rdmajs/testbed';
 * const { a, b } = await runInTestbedPair({
 *   a: { command: ['rping', '-s', '-a', '10.9.1.1', '-C', '3'] },
 *   b: { command: ['sh', '-c', 'sleep 2; rping -c -a 10.9.1.1 -C 3'] }, // give A's server time to listen
 * });
 * ```
 * @document ../README.md
 * @module @rdmajs/testbed
 */
export { activeRdmaDevices, hasRdmaDevice } from './detect.js';
export { cacheDir, cachedTestbed, prepare, type Testbed } from './cache.js';
export { DETERMINISTIC_CPUS, TIMINGS, TIMING_ENV, resolveTiming, timingPlan, type Timing, type TimingPlan } from './timing.js';
export { TESTBED_DEVICE, TESTBED_IP, TESTBED_PAIR_IPS, type PairHost } from './addresses.js';
export { acceleration, type Acceleration } from './accel.js';
export { runInTestbed, runInTestbedPair } from './run.js';
export type { PairCommand, PairOptions, PairResult, RunOptions, RunResult, VmOptions } from './types.js';
