/**
 * Options of {@link ProtectionDomain.createQp}: which queues a new QP uses.
 * Apart from the plain QP data (types/qp.ts) because it names the queue
 * classes, which must not import it back.
 * @module
 */
import type { CompletionQueue } from '../cq.js';
import type { SharedReceiveQueue } from '../srq.js';
import type { QpType } from '../constants.js';
import type { QpCap } from './qp.js';

/** Options of {@link ProtectionDomain.createQp}. */
export interface QpOptions {
  /** Default `'RC'`. */
  type?: QpType;
  /** CQ for send completions. */
  sendCq: CompletionQueue;
  /** CQ for receive completions. Default: `sendCq`. */
  recvCq?: CompletionQueue;
  /** Take receives from this shared receive queue (the QP then has no receive queue of its own). */
  srq?: SharedReceiveQueue;
  /** Queue depths and limits. Defaults: 128 work requests each way, one SGE each, no inline data. */
  cap?: QpCap;
  /** Signal every send, whatever its `signaled` flag. Default false. */
  sqSigAll?: boolean;
}
