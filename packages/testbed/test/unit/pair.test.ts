import { describe, expect, it } from 'vitest';

import type { Testbed } from '../../src/cache.js';
import { jobScript, listeningInodes, pairJob, TESTBED_PAIR_IPS } from '../../src/vm.js';

describe('qemu A listening', () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:9F97 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:9F97 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1',
    '   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0',
    '',
  ].join('\n');

  it('finds the listening socket of a port, not its connections or other ports', () => {
    expect([...listeningInodes(table, 0x9f97)]).toEqual(['111']);
    expect([...listeningInodes(table, 22)]).toEqual(['333']);
    expect(listeningInodes(table, 8080).size).toBe(0);
    expect(listeningInodes('', 22).size).toBe(0);
  });
});

describe('pair job script', () => {
  const tb: Testbed = { kernelVersion: '6.1.0-0-amd64', root: '/c', vmlinuz: '/c/vmlinuz', initrd: '/c/initrd', busybox: '/c/bin/busybox' };

  it('gives each host its address, its peer, its name and rxe0 on its own NIC', () => {
    for (const [host, peer] of [['a', 'b'], ['b', 'a']] as const) {
      const script = jobScript(tb, pairJob(tb, host, { command: ['echo', "it's"], env: { X: '1' } }, '/w'));
      expect(script).toContain(`export RDMAJS_TESTBED_IP='${TESTBED_PAIR_IPS[host]}'`);
      expect(script).toContain(`export RDMAJS_TESTBED_PEER_IP='${TESTBED_PAIR_IPS[peer]}'`);
      expect(script).toContain(`export RDMAJS_TESTBED_HOST='${host}'`);
      expect(script).toContain("export RDMAJS_DEVICE='rxe0'");
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
    const macs = (['a', 'b'] as const).map((h) => /= (52:54:00:[0-9a-f:]+) \]/.exec(jobScript(tb, pairJob(tb, h, { command: ['true'] }, '/')))?.[1]);
    expect(macs[0]).toBeDefined();
    expect(macs[0]).not.toBe(macs[1]);
  });
});
