// Two hosts: boots the testbed pair (two VMs joined by a virtual cable, each
// with its own rxe0) and runs an rdma_cm server in host A and a client in
// host B (fixtures/cm-server.mjs, fixtures/cm-client.mjs). Runs on the host,
// always through qemu, even where the host has an RDMA device of its own.
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { runInTestbedPair } from '../../../testbed/src/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const repo = fileURLToPath(new URL('../../../..', import.meta.url));

describe('rdma_cm across two hosts (testbed pair)', () => {
  it('server in VM A, client in VM B: RC WRITE + SEND verified, each side disconnects first once, then UD both ways', async () => {
    const started = Date.now();
    const result = await runInTestbedPair({
      cwd: repo,
      a: { command: ['node', fixture('cm-server.mjs')] },
      b: { command: ['node', fixture('cm-client.mjs')] },
      timeoutMs: 420_000,
      quiet: true,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`[pair] boot a ${(result.a.bootMs / 1000).toFixed(1)} s, b ${(result.b.bootMs / 1000).toFixed(1)} s; whole run ${seconds} s`);
    console.log(result.a.output + result.b.output);
    expect({ a: result.a.exitCode, b: result.b.exitCode }).toEqual({ a: 0, b: 0 });

    const a = result.a.output;
    const b = result.b.output;
    expect(a).toMatch(/server: round 1: accepted 10\.9\.1\.2:/);
    expect(a).toMatch(/server: round 1: RDMA WRITE 65536 bytes verified, SEND 1000 bytes verified/);
    expect(a).toMatch(/server: round 1: client disconnected first; saw 'disconnected'/);
    expect(a).toMatch(/server: round 2: RDMA WRITE 65536 bytes verified, SEND 1000 bytes verified/);
    expect(a).toMatch(/server: round 2: disconnected first; saw 'disconnected'/);
    expect(a).toMatch(/server: UD: datagram of 900 bytes from QP \d+ verified; replied/);
    expect(a).toMatch(/server: done/);
    expect(b).toMatch(/client: round 1: connected to 10\.9\.1\.1:7471/);
    expect(b).toMatch(/client: round 1: RDMA WRITE 65536 \+ SEND 1000 bytes done; server verified them/);
    expect(b).toMatch(/client: round 1: disconnected first; saw 'disconnected'/);
    expect(b).toMatch(/client: round 2: server disconnected first; saw 'disconnected'/);
    expect(b).toMatch(/client: UD: sent 900 bytes to QP \d+ \(qkey 0x1234567\); reply verified/);
    expect(b).toMatch(/client: done/);
  }, 480_000);
});
