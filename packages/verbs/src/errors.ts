/**
 * The one error module of rdmajs. Every system-level failure (a verb, an
 * rdma_cm call, an SDP socket operation) surfaces as an {@link RdmaError},
 * shaped like Node's own system errors so `err.code === 'EINVAL'` checks
 * work; a refused rdma_cm connection is the subclass {@link CmRejectError}
 * with the listener's typed `rejectData`. Bad arguments throw `TypeError` /
 * `RangeError` (see check.ts) before any verb runs.
 *
 * errno convention: **negative**, as Node's `net`/`fs` errors and libuv
 * (`util.getSystemErrorName(err.errno) === err.code`). libibverbs and
 * librdmacm report positive errnos; the addon passes them as they are and
 * the {@link RdmaError} constructor stores the negative value, so the sign
 * is decided in one place. Numbers and texts come from Node
 * (`os.constants.errno`, `util.getSystemErrorMap()`), not private tables.
 * @module
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

/** Extra fields carried by an {@link RdmaError}. */
export interface RdmaErrorProps {
  /** Symbolic errno, e.g. `'EINVAL'`, `'EBADF'` (use after close), `'EOPNOTSUPP'`. */
  code: string;
  /**
   * Numeric errno. Stored negative (Node's convention); the constructor
   * accepts either sign, as libibverbs reports positive values.
   */
  errno: number;
  /** The verb or operation that failed, e.g. `'ibv_modify_qp'`, `'rdma_connect'`. */
  syscall: string;
  /** For a refused post: how many work requests of the list were posted. */
  posted?: number;
}

/**
 * A verb (or another system-level operation) failed. `message` reads
 * `"<verb>: <description> (<CODE>): <context>"`. The native addon throws
 * this class too, so `instanceof RdmaError` holds for every such failure.
 */
export class RdmaError extends Error implements RdmaErrorProps {
  /** Symbolic errno, e.g. `'EINVAL'`. */
  code: string;
  /** Negative errno, as Node's system errors (0 when the code has no number). */
  errno: number;
  /** The verb or operation that failed. */
  syscall: string;
  /** For a refused post: how many work requests of the list were posted. */
  declare posted?: number;

  /**
   * @param message The whole message (see the class summary for its format).
   * @param props code, errno (either sign), syscall and optional fields.
   * @param options `cause`, as for `Error`.
   */
  constructor(message: string, props: RdmaErrorProps, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RdmaError';
    this.code = props.code;
    this.errno = -Math.abs(props.errno) || 0;
    this.syscall = props.syscall;
    if (props.posted !== undefined) this.posted = props.posted;
  }
}

/** Fields of a {@link CmRejectError} beyond those of every {@link RdmaError}. */
export interface CmRejectProps {
  /** The exact bytes the listener gave to `reject()` (empty when it sent none, or nobody listens). */
  rejectData: Buffer;
  /**
   * Why the CM refused: for RC the IB CM reject reason (28,
   * consumer-defined, when the listener's application called `reject()`);
   * for UD the SIDR reply status (2 rejected, 1 no UD listener on the port).
   */
  reason: number;
}

/**
 * An rdma_cm connect was refused: `code` is `'ECONNREFUSED'`, and
 * `rejectData` holds what the listener passed to `reject()`.
 */
export class CmRejectError extends RdmaError implements CmRejectProps {
  /** The exact bytes the listener gave to `reject()` (empty when it sent none). */
  rejectData: Buffer;
  /** The IB CM reject reason (RC) or SIDR status (UD); see {@link CmRejectProps.reason}. */
  reason: number;

  /**
   * @param syscall The operation that was refused, e.g. `'rdma_connect'`.
   * @param detail Context for the message (who refused, why).
   * @param props The reject data and reason.
   */
  constructor(syscall: string, detail: string, props: CmRejectProps) {
    super(`${syscall}: ${describe('ECONNREFUSED')} (ECONNREFUSED): ${detail}`, {
      code: 'ECONNREFUSED',
      errno: errnoOf('ECONNREFUSED'),
      syscall,
    });
    this.name = 'CmRejectError';
    this.rejectData = props.rejectData;
    this.reason = props.reason;
  }
}

/** @internal A symbolic errno Node knows, e.g. `'EINVAL'`. */
export type ErrnoCode = keyof typeof constants.errno;

/** @internal Negative errno of `code` (0 if Node has no number for it). */
export function errnoOf(code: string): number {
  return -((constants.errno as Record<string, number>)[code] ?? 0);
}

let texts: Map<number, [string, string]> | undefined;

/** @internal Node's (libuv's) description of `code`, capitalised like strerror. */
export function describe(code: string): string {
  texts ??= getSystemErrorMap();
  const text = texts.get(errnoOf(code))?.[1] ?? 'unknown error';
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** @internal Builds an {@link RdmaError} from the TS layer with the same message format as the native one. */
export function rdmaError(syscall: string, code: ErrnoCode, detail: string, options?: ErrorOptions): RdmaError {
  return new RdmaError(`${syscall}: ${describe(code)} (${code}): ${detail}`, { code, errno: errnoOf(code), syscall }, options);
}
