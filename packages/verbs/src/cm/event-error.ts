/**
 * What an unexpected rdma_cm event means for the operation that waited:
 * a refusal ({@link CmRejectError} with the listener's reject data), a
 * timeout, an unreachable address, or a reset.
 * @internal
 * @module
 */
import { CmRejectError, RdmaError, errnoOf, rdmaError } from '../errors.js';
import type { NativeCmEvent } from '../native.js';
import { unframe } from './private-data.js';

// SIDR reply statuses (enum ib_cm_sidr_status) reported in UNREACHABLE events.
const SIDR_UNSUPPORTED = 1;
const SIDR_REJECT = 2;
// rdma_cm reports a timeout as a negative errno in the event's status.
const TIMED_OUT = errnoOf('ETIMEDOUT');

/** @internal The error for `event` arriving while `method` waited for something else from `peer`. */
export function eventError(method: string, event: NativeCmEvent, peer: string): RdmaError {
  switch (event.type) {
    case 'REJECTED':
      return new CmRejectError(method, `${peer}: connection refused (reject reason ${event.status})`, {
        rejectData: unframe(event.privateData),
        reason: event.status,
      });
    case 'UNREACHABLE':
      // UD: a SIDR reply with a failure status (rejected, or nobody listens).
      if (event.status === SIDR_REJECT) {
        return new CmRejectError(method, `${peer}: connection refused (SIDR reject)`, { rejectData: unframe(event.privateData), reason: event.status });
      }
      if (event.status === SIDR_UNSUPPORTED) {
        return new CmRejectError(method, `${peer}: connection refused (no UD listener)`, { rejectData: Buffer.alloc(0), reason: event.status });
      }
      return event.status === TIMED_OUT
        ? rdmaError(method, 'ETIMEDOUT', `${peer}: no answer`)
        : rdmaError(method, 'EHOSTUNREACH', `${peer}: unreachable (status ${event.status})`);
    case 'ADDR_ERROR':
    case 'ROUTE_ERROR': {
      const what = event.type === 'ADDR_ERROR' ? 'address' : 'route';
      return event.status === TIMED_OUT
        ? rdmaError(method, 'ETIMEDOUT', `${peer}: ${what} resolution timed out`)
        : rdmaError(method, 'EHOSTUNREACH', `${peer}: ${what} error (status ${event.status})`);
    }
    default:
      return rdmaError(method, 'ECONNRESET', `${peer}: ${event.type} (status ${event.status})`);
  }
}
