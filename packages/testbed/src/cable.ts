/**
 * The virtual Ethernet cable between the two VMs of a pair: a connected TCP
 * pair on 127.0.0.1, one end handed to each qemu as its NIC's socket.
 * @module
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

import { PAIR_MACS, type PairHost } from './addresses.js';

/** Bound on connecting the cable's two ends on 127.0.0.1, in ms. */
export const CABLE_WAIT_MS = 10_000;

/**
 * The virtual cable: a connected TCP pair on 127.0.0.1 (port 0, so the
 * kernel picks a free port), Nagle off on both ends. Each qemu gets one end
 * as fd 3 (`-netdev socket,fd=3`), so no VM has to listen before the other
 * connects. (qemu's own `listen=`/`connect=` sockets keep Nagle on, which
 * made every round trip over the link about 25 ms; this takes about 1 ms.)
 */
export async function cable(timeoutMs: number): Promise<[Socket, Socket]> {
  const srv = createServer();
  const sockets: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<[Socket, Socket]>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('rdmajs-testbed: could not connect the link on 127.0.0.1')), timeoutMs);
      let near: Socket | undefined;
      const pending: Socket[] = [];
      // Another local process could connect first: take only our own connection.
      const match = () => {
        const far = near?.localPort !== undefined ? pending.find((s) => s.remotePort === near!.localPort) : undefined;
        if (near && far) resolve([near, far]);
      };
      srv.on('error', reject);
      srv.on('connection', (s) => {
        sockets.push(s);
        pending.push(s);
        match();
      });
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as AddressInfo;
        const client = connect(port, '127.0.0.1');
        sockets.push(client);
        client.once('error', reject);
        client.once('connect', () => {
          near = client;
          match();
        });
      });
    }).then((ends) => {
      for (const end of ends) end.setNoDelay(true);
      for (const s of sockets) if (!ends.includes(s)) s.destroy();
      return ends;
    });
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
    srv.close();
  }
}

/** qemu arguments for `host`'s NIC: virtio-net with the host's MAC, on the cable end qemu has as fd 3. */
export function cableNicArgs(host: PairHost): string[] {
  return ['-netdev', 'socket,id=net0,fd=3', '-device', `virtio-net-pci,netdev=net0,mac=${PAIR_MACS[host]}`];
}
