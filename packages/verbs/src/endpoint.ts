/**
 * {@link checkEndpoint}: validation of a peer's {@link Endpoint}, which may
 * come from the network.
 * @module
 */
import { int, obj } from './check.js';
import { mtuEnum } from './constants.js';
import { parseGid } from './gid.js';
import type { Endpoint } from './types/qp.js';

/**
 * Validates a peer's endpoint (it may come from the network) and returns it
 * typed. `method` prefixes the error messages.
 * @throws TypeError / RangeError naming the bad field.
 */
export function checkEndpoint(method: string, value: unknown): Endpoint {
  const e = obj<Partial<Endpoint>>(method, 'remote endpoint', value);
  int(method, 'remote.qpn', e.qpn, 1, 0xffffff);
  int(method, 'remote.psn', e.psn, 0, 0xffffff);
  int(method, 'remote.lid', e.lid, 0, 0xffff);
  int(method, 'remote.port', e.port, 1, 255);
  mtuEnum(int(method, 'remote.mtu', e.mtu, 256, 4096));
  if (typeof e.gid !== 'string') throw new TypeError(`${method}: remote.gid must be a string`);
  parseGid(e.gid);
  return e as Endpoint;
}
