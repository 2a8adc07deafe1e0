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
 * @module
 */
export { activeRdmaDevices, hasRdmaDevice } from './detect.js';
export { cacheDir, cachedTestbed, prepare, type Testbed } from './cache.js';
export { TESTBED_DEVICE, TESTBED_IP, runInTestbed, type RunOptions, type RunResult } from './vm.js';
