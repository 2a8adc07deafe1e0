import { defineConfig } from 'vitest/config';

// Three projects: `unit` needs no RDMA device; `device` runs on a real one (the
// SoftRoCE testbed VM when the host has none; see scripts/test.sh); `pair`
// runs on the host and boots testbed VMs itself (two hosts, or one VM for a
// long run), so it needs qemu but no RDMA device: slow, run separately.
// Repository-level tests (release script, packed tarballs, README commands)
// live in test/unit and test/pair.
export default defineConfig({
  test: {
    reporters: ['verbose'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/unit/**/*.test.ts', 'test/unit/**/*.test.ts'],
          // Some start Node processes: 5 s is too little on a busy two-core machine.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'device',
          include: ['packages/*/test/device/**/*.test.ts'],
          globalSetup: ['packages/verbs/test/device/global-setup.ts'],
          // Emulated CPUs: generous bounds; every wait inside a test has its own.
          testTimeout: 180_000,
          hookTimeout: 120_000,
          // One rxe device, 2 vCPUs under emulation: files run one at a time
          // so a slow file cannot starve another's timers.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'pair',
          include: ['packages/*/test/pair/**/*.test.ts', 'test/pair/**/*.test.ts'],
          // Each test boots VMs (minutes under emulation) and bounds its own run.
          testTimeout: 900_000,
          hookTimeout: 60_000,
          // Two emulated VMs already fill two cores: one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
