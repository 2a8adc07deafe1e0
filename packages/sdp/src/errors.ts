/**
 * Errors shaped like Node's own socket errors (`code`, negative `errno`,
 * `syscall`, `address`/`port`), so code written for `net` checks
 * `err.code === 'ECONNREFUSED'` the same way over SDP. {@link SdpError} is
 * an `RdmaError` of `@rdmajs/verbs` (the one error module of rdmajs, whose
 * errno convention, negative like Node's, it shares).
 * @module
 */
import { constants } from 'node:os';

import { RdmaError } from '@rdmajs/verbs';

/**
 * An error of an SDP socket or server. `message` reads
 * `"<syscall> <CODE> [<address>[:<port>]] [(<detail>)]"`, as Node's
 * socket errors do.
 */
export class SdpError extends RdmaError {
  /** The remote (or listen) address involved, when known. */
  declare address?: string;
  /** The port involved, when known. */
  declare port?: number;

  /**
   * @param code Node's error code, e.g. `'ECONNREFUSED'`, `'ECONNRESET'`, `'ETIMEDOUT'`, `'EPROTO'`.
   * @param syscall The operation that failed: `'connect'`, `'listen'`, `'write'`, `'read'`...
   * @param detail Context appended in parentheses.
   * @param where The address and port involved.
   * @param options `cause`, as for `Error`.
   */
  constructor(code: string, syscall: string, detail?: string, where?: { address?: string; port?: number }, options?: ErrorOptions) {
    const at = where?.address !== undefined ? ` ${where.address}${where.port !== undefined ? `:${where.port}` : ''}` : '';
    super(`${syscall} ${code}${at}${detail ? ` (${detail})` : ''}`, { code, errno: (constants.errno as Record<string, number>)[code] ?? 0, syscall }, options);
    this.name = 'SdpError';
    if (where?.address !== undefined) this.address = where.address;
    if (where?.port !== undefined) this.port = where.port;
  }
}

/** Builds an {@link SdpError} (kept as a function: link.ts and socket.ts call it). */
export function sdpError(code: string, syscall: string, detail?: string, where?: { address?: string; port?: number }): SdpError {
  return new SdpError(code, syscall, detail, where);
}

/** Re-labels an rdma_cm error (it already has a Node-style `code`) as a socket error, the original as its `cause`. */
export function fromCmError(err: unknown, syscall: string, where: { address?: string; port?: number }): Error {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !(err instanceof Error)) return err as Error;
  return new SdpError(code, syscall, err.message, where, { cause: err });
}
