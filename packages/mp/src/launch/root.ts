/**
 * Choosing the rendezvous address for a local launch: the host, and a port
 * that is free there right now.
 * @module
 */
import { createServer } from 'node:net';

import type { HostPort } from '../types.js';

/** Loopback when nothing says otherwise; ranks of a local launch all run on this host. */
export const DEFAULT_ROOT_HOST = '127.0.0.1';

/**
 * The root host for ranks started on this host: `$RDMAJS_TESTBED_IP` inside
 * the testbed VM (its rxe address, so the endpoint exchange runs over the
 * same link as the traffic), else {@link DEFAULT_ROOT_HOST}. Pure; never throws.
 */
export function defaultRootHost(env: NodeJS.ProcessEnv): string {
  const ip = env.RDMAJS_TESTBED_IP?.trim();
  return ip !== undefined && ip !== '' ? ip : DEFAULT_ROOT_HOST;
}

/**
 * A port that is free on `host` now: binds port 0, reads the port the
 * kernel chose, and closes. Another process could take it before rank 0
 * binds it (rank 0 then fails with a clear `EADDRINUSE`); the window is a
 * few milliseconds and the kernel does not hand the same ephemeral port out
 * again at once.
 * @throws (rejects) the bind error, e.g. `EADDRNOTAVAIL` when `host` is not an address of this host.
 */
export function freePort(host: string): Promise<HostPort> {
  return new Promise<HostPort>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = address !== null && typeof address === 'object' ? address.port : 0;
      server.close(() => (port > 0 ? resolve({ host, port }) : reject(new Error(`no port was assigned on ${host}`))));
    });
  });
}
