// Deterministic timing, for real: boots the testbed with qemu's icount on one
// vCPU and checks what the mode promises (one CPU, a cheap TSC clock, no
// address-space randomisation, a working rxe0) and that guest time is an
// instruction count: the same CPU-bound loop takes the same guest time, run
// after run, whatever else this host is doing. (Timed inside one process:
// starting a program reads files from the host over 9p, and waiting for the
// host is the one thing icount cannot make deterministic.)
import { describe, expect, it } from 'vitest';

import { runInTestbed } from '../../src/index.js';

// Eight runs of the same loop in one Node process; the first ones include
// JIT tiering, the last three must agree.
const LOOP = `for (let r = 0; r < 8; r++) {
  const s = process.hrtime.bigint(); let x = 0;
  for (let i = 0; i < 3e6; i++) x = (x + i * 7) % 1000003;
  console.log('loop_ns=' + (process.hrtime.bigint() - s) + ' x=' + x);
}`;

describe('deterministic timing (testbed VM)', () => {
  it('boots one vCPU with icount, rxe0 active, and a CPU-bound loop takes the same guest time every run', async () => {
    const script = [
      'echo "cpus=$(nproc)"',
      'echo "clock=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"',
      'echo "timing=$RDMAJS_TESTBED_TIMING"',
      'echo "aslr=$(cat /proc/sys/kernel/randomize_va_space)"',
      'ibv_devinfo -d rxe0 | grep -o PORT_ACTIVE',
      `node -e "${LOOP}"`,
    ].join('\n');
    const started = Date.now();
    const r = await runInTestbed({ command: ['sh', '-c', script], timing: 'deterministic', timeoutMs: 600_000, quiet: true });
    console.log(`[timing] boot ${(r.bootMs / 1000).toFixed(1)} s, whole run ${((Date.now() - started) / 1000).toFixed(1)} s\n${r.output}`);
    expect(r.exitCode).toBe(0);
    expect(r.output).toContain('cpus=1');
    expect(r.output).toContain('clock=tsc');
    expect(r.output).toContain('timing=deterministic');
    expect(r.output).toContain('aslr=0');
    expect(r.output).toContain('PORT_ACTIVE');
    const loops = [...r.output.matchAll(/loop_ns=(\d+)/g)].map((m) => Number(m[1]));
    expect(loops).toHaveLength(8);
    const rest = loops.slice(5);
    const spread = (Math.max(...rest) - Math.min(...rest)) / Math.min(...rest);
    console.log(`[timing] guest ns per loop: ${loops.join(', ')}; spread of the last three: ${(spread * 100).toFixed(3)} %`);
    expect(spread).toBeLessThan(0.01);
  });
});
