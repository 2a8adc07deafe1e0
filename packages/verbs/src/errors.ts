/**
 * Errors. Every failure of a verb surfaces as an {@link RdmaError}, shaped
 * like Node's own system errors so `err.code === 'EINVAL'` checks work.
 * Bad arguments throw `TypeError` / `RangeError` before any verb runs.
 * @module
 */

/** Extra fields carried by an {@link RdmaError}. */
export interface RdmaErrorProps {
  /** Symbolic errno, e.g. `'EINVAL'`, `'EBADF'` (use after close), `'EOPNOTSUPP'`. */
  code: string;
  /** Numeric errno. */
  errno: number;
  /** The verb that failed, e.g. `'ibv_modify_qp'`. */
  syscall: string;
  /** For a refused post: how many work requests of the list were posted. */
  posted?: number;
}

/** A verb failed. `message` reads `"<verb>: <strerror> (<CODE>): <context>"`. */
export class RdmaError extends Error implements RdmaErrorProps {
  code: string;
  errno: number;
  syscall: string;
  posted?: number;

  constructor(message: string, props: RdmaErrorProps) {
    super(message);
    this.name = 'RdmaError';
    this.code = props.code;
    this.errno = props.errno;
    this.syscall = props.syscall;
    if (props.posted !== undefined) this.posted = props.posted;
  }
}

const ERRNO: Record<string, number> = {
  EINVAL: 22,
  EBADF: 9,
  EBUSY: 16,
  ENODEV: 19,
  ETIMEDOUT: 110,
  EOPNOTSUPP: 95,
  EIO: 5,
  ECONNREFUSED: 111,
  ECONNRESET: 104,
  EHOSTUNREACH: 113,
};

/** Builds an {@link RdmaError} from the TS layer with the same message format as the native one. */
export function rdmaError(syscall: string, code: keyof typeof ERRNO, detail: string): RdmaError {
  const text: Record<string, string> = {
    EINVAL: 'Invalid argument',
    EBADF: 'Bad file descriptor',
    EBUSY: 'Device or resource busy',
    ENODEV: 'No such device',
    ETIMEDOUT: 'Connection timed out',
    EOPNOTSUPP: 'Operation not supported',
    EIO: 'Input/output error',
    ECONNREFUSED: 'Connection refused',
    ECONNRESET: 'Connection reset by peer',
    EHOSTUNREACH: 'No route to host',
  };
  return new RdmaError(`${syscall}: ${text[code]} (${code}): ${detail}`, { code, errno: ERRNO[code]!, syscall });
}
