/**
 * Names and addresses inside the testbed VMs: the RDMA device, the single
 * VM's address, and the two hosts of a pair with their addresses and NICs.
 * @module
 */

/** Address of `dum0`, the interface rxe0 sits on inside the single VM. */
export const TESTBED_IP = '10.9.0.1';
/** The RDMA device the VM provides. */
export const TESTBED_DEVICE = 'rxe0';

/** One of the two hosts of {@link runInTestbedPair}. */
export type PairHost = 'a' | 'b';
/** Addresses of the two hosts of {@link runInTestbedPair} (one /24). */
export const TESTBED_PAIR_IPS: Readonly<Record<PairHost, string>> = { a: '10.9.1.1', b: '10.9.1.2' };
/** MAC of each pair host's virtio-net NIC: the job script finds its NIC by it. */
export const PAIR_MACS: Readonly<Record<PairHost, string>> = { a: '52:54:00:09:01:01', b: '52:54:00:09:01:02' };

/** The other host of a pair. */
export function peerOf(host: PairHost): PairHost {
  return host === 'a' ? 'b' : 'a';
}
