import { describe, expect, it } from 'vitest';

import type { Testbed } from '../../src/cache.js';
import { TESTBED_PAIR_IPS } from '../../src/addresses.js';
import { cable } from '../../src/cable.js';
import { jobScript, pairJob } from '../../src/job.js';

describe('the link', () => {
  it('is a connected TCP pair on 127.0.0.1, each end the other\'s peer', async () => {
    const [near, far] = await cable(5000);
    try {
      expect(near.remoteAddress).toBe('127.0.0.1');
      expect(near.remotePort).toBe(far.localPort);
      expect(far.remotePort).toBe(near.localPort);
      const got = new Promise<string>((resolve) => far.once('data', (d) => resolve(d.toString())));
      near.write('frame');
      expect(await got).toBe('frame');
    } finally {
      near.destroy();
      far.destroy();
    }
  });
});

describe('pair job script', () => {
  const tb: Testbed = { kernelVersion: '6.1.0-0-amd64', root: '/c', vmlinuz: '/c/vmlinuz', initrd: '/c/initrd', busybox: '/c/bin/busybox' };

  it('gives each host its address, its peer, its name and rxe0 on its own NIC', () => {
    for (const [host, peer] of [['a', 'b'], ['b', 'a']] as const) {
      const script = jobScript(tb, pairJob(tb, host, { command: ['echo', "it's"], env: { X: '1' } }, '/w', 'threaded'));
      expect(script).toContain(`export RDMAJS_TESTBED_IP='${TESTBED_PAIR_IPS[host]}'`);
      expect(script).toContain(`export RDMAJS_TESTBED_PEER_IP='${TESTBED_PAIR_IPS[peer]}'`);
      expect(script).toContain(`export RDMAJS_TESTBED_HOST='${host}'`);
      expect(script).toContain("export RDMAJS_DEVICE='rxe0'");
      expect(script).toContain("export RDMAJS_TESTBED_TIMING='threaded'");
      expect(script).toContain("export X='1'");
      expect(script).toContain(`ip addr add ${TESTBED_PAIR_IPS[host]}/24 dev "$netdev"`);
      expect(script).toContain('rdma link add rxe0 type rxe netdev "$netdev"');
      expect(script).toContain(`ping -c 1 -W 1 ${TESTBED_PAIR_IPS[peer]}`);
      expect(script).toMatch(/modprobe \$m/);
      expect(script).toContain('virtio_net');
      expect(script).toContain(`'echo' 'it'\\''s' </dev/null`);
      expect(script).toContain("cd '/w'");
    }
    // Each VM finds its NIC by its own MAC.
    const macs = (['a', 'b'] as const).map((h) => /= (52:54:00:[0-9a-f:]+) \]/.exec(jobScript(tb, pairJob(tb, h, { command: ['true'] }, '/', 'threaded')))?.[1]);
    expect(macs[0]).toBeDefined();
    expect(macs[0]).not.toBe(macs[1]);
  });
});
