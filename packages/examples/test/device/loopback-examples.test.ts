// The single-process examples on the device: bandwidth (RDMA WRITE between
// two looped-back RC QPs) and ud (datagrams through address handles).
import { afterEach, describe, expect, it } from 'vitest';

import { run, stopAll } from './run.js';

afterEach(stopAll);

describe('bandwidth example', () => {
  it('streams RDMA WRITEs with selective signaling and checks the last one landed', async () => {
    const r = await run('bandwidth', ['-s', '4096', '-n', '300', '-d', '16']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^RDMA WRITE 300 x 4096 B, 16 in flight: [\d.]+ MiB\/s \([\d.]+ Gb\/s\), [\d.]+ Mpps; last write intact$/m);
  });

  it('works with a count that is not a multiple of the signaling interval, and rejects bad flags', async () => {
    const r = await run('bandwidth', ['-s', '64', '-n', '7', '-d', '4']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('last write intact');
    expect(await run('bandwidth', ['-d', '1'])).toMatchObject({ code: 2, out: expect.stringContaining("--depth needs an integer >= 2, got '1'") });
  });
});

describe('ud example', () => {
  it('sends datagrams through an address handle and gets each echoed back', async () => {
    const r = await run('ud', ['-n', '5', '-s', '128']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^UD: 5 datagrams of 128 B sent to QP \d+ \(qkey 0x11111111\), 5 echoed back intact to QP \d+$/m);
  });

  it('refuses a payload over the MTU with a usage error', async () => {
    const r = await run('ud', ['-s', '100000']);
    expect(r).toMatchObject({ code: 2, out: expect.stringMatching(/exceeds the path MTU/) });
  });
});
