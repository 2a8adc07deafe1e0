/**
 * Errors shaped like Node's own socket errors (`code`, negative `errno`,
 * `syscall`, `address`/`port`), so code written for `net` checks
 * `err.code === 'ECONNREFUSED'` the same way over SDP.
 * @module
 */
import { constants } from 'node:os';

/** An error of an SDP socket or server. */
export interface SdpError extends Error {
  /** Node's error code, e.g. `'ECONNREFUSED'`, `'ECONNRESET'`, `'ETIMEDOUT'`, `'EPROTO'`. */
  code: string;
  /** Negative errno, as Node's system errors (0 when the code has no errno). */
  errno: number;
  /** The operation that failed: `'connect'`, `'listen'`, `'write'`, `'read'`... */
  syscall: string;
  /** The remote (or listen) address involved, when known. */
  address?: string;
  /** The port involved, when known. */
  port?: number;
}

export function sdpError(code: string, syscall: string, detail?: string, where?: { address?: string; port?: number }): SdpError {
  const at = where?.address !== undefined ? ` ${where.address}${where.port !== undefined ? `:${where.port}` : ''}` : '';
  const err = new Error(`${syscall} ${code}${at}${detail ? ` (${detail})` : ''}`) as SdpError;
  err.code = code;
  err.errno = -((constants.errno as Record<string, number>)[code] ?? 0);
  err.syscall = syscall;
  if (where?.address !== undefined) err.address = where.address;
  if (where?.port !== undefined) err.port = where.port;
  return err;
}

/** Re-labels an rdma_cm error (it already has a Node-style `code`) as a socket error. */
export function fromCmError(err: unknown, syscall: string, where: { address?: string; port?: number }): Error {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !(err instanceof Error)) return err as Error;
  const out = sdpError(code, syscall, err.message, where);
  (out as SdpError & { cause?: unknown }).cause = err;
  return out;
}
