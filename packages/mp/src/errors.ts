/**
 * Errors of message passing. A failed operation rejects with an
 * {@link MpError} whose `code` says what happened and whose context fields
 * say with whom (`peer`), on which `tag`, and for a truncation how long the
 * message really was (`length`) against the room the receive had
 * (`capacity`). Bad arguments throw `TypeError` / `RangeError` instead,
 * synchronously, before anything is queued.
 * @module
 */

/**
 * What went wrong:
 * - `'ETRUNC'`: a message is longer than the receive buffer (`length` is the real length, `capacity` the buffer's);
 *   nothing is cut silently.
 * - `'EPEERDEAD'`: the peer (`peer`) died or its connection broke while the operation was pending.
 * - `'ETIMEDOUT'`: a bounded wait (e.g. bootstrap) ran out.
 * - `'ECANCELED'`: the operation was cancelled (its `AbortSignal` fired) before it matched.
 * - `'ECLOSED'`: the communicator or matching engine was closed.
 * - `'EINVAL'`: a value that is well-typed but not acceptable in this state (e.g. mismatched collective calls).
 * - `'ELAUNCH'`: the launcher's environment is missing values or contradicts itself.
 * - `'EPROTO'`: a peer sent something the protocol does not allow.
 */
export type MpErrorCode = 'ETRUNC' | 'EPEERDEAD' | 'ETIMEDOUT' | 'ECANCELED' | 'ECLOSED' | 'EINVAL' | 'ELAUNCH' | 'EPROTO';

/** Context carried by an {@link MpError}; every field but `code` is optional. */
export interface MpErrorProps {
  /** What went wrong (see {@link MpErrorCode}). */
  code: MpErrorCode;
  /** The other rank involved (the message's source for a receive, the destination for a send). */
  peer?: number;
  /** The message's tag. */
  tag?: number;
  /** For `'ETRUNC'`: the message's real length in bytes. */
  length?: number;
  /** For `'ETRUNC'`: the receive buffer's length in bytes. */
  capacity?: number;
  /** The underlying error, if any (e.g. an `RdmaError`). */
  cause?: unknown;
}

/** A message-passing operation failed; `message` reads `"<CODE>: <detail>"`. */
export class MpError extends Error {
  /** What went wrong (see {@link MpErrorCode}). */
  readonly code: MpErrorCode;
  /** The other rank involved, when there is one. */
  readonly peer?: number;
  /** The message's tag, when the error is about one message. */
  readonly tag?: number;
  /** For `'ETRUNC'`: the message's real length in bytes. */
  readonly length?: number;
  /** For `'ETRUNC'`: the receive buffer's length in bytes. */
  readonly capacity?: number;

  /** Never throws. */
  constructor(props: MpErrorProps, detail: string) {
    super(`${props.code}: ${detail}`, props.cause === undefined ? undefined : { cause: props.cause });
    this.name = 'MpError';
    this.code = props.code;
    // Only own the fields that apply, so `toEqual`/logging shows no `undefined` noise.
    if (props.peer !== undefined) this.peer = props.peer;
    if (props.tag !== undefined) this.tag = props.tag;
    if (props.length !== undefined) this.length = props.length;
    if (props.capacity !== undefined) this.capacity = props.capacity;
  }
}

/**
 * The error for a message that does not fit its receive buffer, or
 * `undefined` when it fits. Receivers call this once a match tells them the
 * message's length, before copying anything. Never throws.
 */
export function truncationError(length: number, capacity: number, source: number, tag: number): MpError | undefined {
  if (length <= capacity) return undefined;
  return new MpError(
    { code: 'ETRUNC', peer: source, tag, length, capacity },
    `message from rank ${source} with tag ${tag} is ${length} bytes, the receive buffer holds ${capacity}`,
  );
}
