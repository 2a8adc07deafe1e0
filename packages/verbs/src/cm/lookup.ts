/**
 * Host names to numeric addresses: rdma_cm takes numeric IPs only, so a
 * name is resolved once through DNS (getaddrinfo), within the caller's
 * deadline.
 * @internal
 * @module
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

import { str } from '../check.js';
import { RdmaError, rdmaError } from '../errors.js';

/**
 * @internal `host` as a numeric address. Rejects with ETIMEDOUT past
 * `deadline` (ms since the epoch), EHOSTUNREACH when the name does not resolve.
 */
export async function numericHost(method: string, name: string, host: unknown, deadline = Infinity): Promise<string> {
  const checked = str(method, name, host);
  if (isIP(checked)) return checked;
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = lookup(checked);
    if (deadline === Infinity) return (await found).address;
    // getaddrinfo has its own (resolver) timeouts; the caller's bound is tighter.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(rdmaError(method, 'ETIMEDOUT', `looking up '${checked}' took too long`)), Math.max(0, deadline - Date.now()));
    });
    return (await Promise.race([found, late])).address;
  } catch (err) {
    if (err instanceof RdmaError) throw err;
    throw rdmaError(method, 'EHOSTUNREACH', `cannot resolve '${checked}': ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
