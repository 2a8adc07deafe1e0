/**
 * The rendezvous protocol's messages, as JSON objects in frames (see
 * frame.ts), and the helpers both roles use to build and read them:
 *
 * | message | from | meaning |
 * |---|---|---|
 * | `hello {proto, rank, size}` | rank | introduces a rank to rank 0 |
 * | `welcome {size}` | rank 0 | the hello is accepted |
 * | `round {round, payload}` | rank | this rank's part of a round |
 * | `table {round, payloads}` | rank 0 | everyone's parts, indexed by rank |
 * | `bye` | either | leaving on purpose (a clean departure) |
 * | `gone {rank, clean, why}` | rank 0 | a rank's session ended |
 * | `error {code, message}` | rank 0 | the job failed; the message says why |
 * @module
 */
import { MpError, type MpErrorCode } from '../errors.js';
import { encodeFrame } from './frame.js';

/** Sent in the hello so a stray client (or another protocol version) is told apart from a rank. */
export const PROTOCOL = 'rdmajs-mp-rendezvous/1';

/** Every message either side sends (see the table above). */
export type Message =
  | { t: 'hello'; proto: string; rank: number; size: number }
  | { t: 'welcome'; size: number }
  | { t: 'round'; round: number; payload: unknown }
  | { t: 'table'; round: number; payloads: unknown[] }
  | { t: 'bye' }
  | { t: 'gone'; rank: number; clean: boolean; why: string }
  | { t: 'error'; code: MpErrorCode; message: string };

/** Error codes an `error` message may carry; any other reads as `'EPROTO'`. */
export const CODES: ReadonlySet<string> = new Set<MpErrorCode>(['ETRUNC', 'EPEERDEAD', 'ETIMEDOUT', 'ECANCELED', 'ECLOSED', 'EINVAL', 'ELAUNCH', 'EPROTO']);

/** A decoded frame that is a plain object (a message has to be). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `detail` of an MpError (its message without the `CODE: ` prefix). */
export function detailOf(err: MpError): string {
  return err.message.startsWith(`${err.code}: `) ? err.message.slice(err.code.length + 2) : err.message;
}

/** The error of a session whose signal fired. */
export function aborted(signal: AbortSignal): MpError {
  return new MpError({ code: 'ECANCELED', cause: signal.reason }, 'the rendezvous was aborted');
}

/** The `error` frame telling a rank why the job failed (its detail capped at 4 KiB, so it always fits). */
export function errorFrame(err: MpError, maxFrameBytes: number): Buffer {
  return encodeFrame({ t: 'error', code: err.code, message: detailOf(err).slice(0, 4096) } satisfies Message, Math.max(maxFrameBytes, 8192));
}

