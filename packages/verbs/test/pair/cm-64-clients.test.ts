// The "64 concurrent connects from separate processes": the device
// suite's many-clients test (8 processes by default) run with 64, in one
// testbed VM booted from here. Also reports the VM's memory low point, since
// 64 Node processes are what fills it.
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { runInTestbed } from '../../../testbed/src/index.js';

const repo = fileURLToPath(new URL('../../../..', import.meta.url));
const CLIENTS = 64;
// MiB of the VM (the testbed's default is 3072).
const MEMORY_MIB = 3072;

describe('rdma_cm under load (one testbed VM)', () => {
  it(`one listener serves ${CLIENTS} client processes connecting at once, none lost`, async () => {
    // Samples MemAvailable each second while the test runs; prints the low point.
    const script = [
      '(while :; do awk \'/MemAvailable/ {print $2}\' /proc/meminfo; sleep 1; done > /tmp/rdmajs-mem) & sampler=$!',
      'start=$(date +%s)',
      'node_modules/.bin/vitest run --project device packages/verbs/test/device/cm-clients.test.ts',
      'rc=$?',
      'kill $sampler',
      'echo "[64-clients] vitest took $(($(date +%s) - start)) s; MemTotal $(awk \'/MemTotal/ {print int($2/1024)}\' /proc/meminfo) MiB; lowest MemAvailable $(sort -n /tmp/rdmajs-mem | head -1 | awk \'{print int($1/1024)}\') MiB"',
      'exit $rc',
    ].join('\n');
    const result = await runInTestbed({
      cwd: repo,
      command: ['sh', '-c', script],
      env: { RDMAJS_CM_CLIENTS: String(CLIENTS) },
      memoryMiB: MEMORY_MIB,
      timeoutMs: 840_000,
      quiet: true,
    });
    console.log(result.output);
    console.log(`[64-clients] boot ${(result.bootMs / 1000).toFixed(1)} s, whole VM run ${(result.totalMs / 1000).toFixed(1)} s`);
    expect(result.exitCode).toBe(0);
    // Colours are on under CI=true: match the plain text.
    const plain = result.output.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(new RegExp(`✓ .*serves ${CLIENTS} clients in separate processes`));
    expect(plain).toMatch(/Tests +1 passed/);
  }, 900_000);
});
