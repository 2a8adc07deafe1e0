/**
 * # @rdmajs/mp
 *
 * Tagged message passing and collectives for Node.js, MPI-style. This
 * release holds the transport-independent core; the communicator over
 * `@rdmajs/verbs` (eager sends through bounce buffers on a shared receive
 * queue, rendezvous by RDMA READ, per-peer credits, `init()`/`rdmajs-run`)
 * comes next and is built on exactly these pieces:
 *
 * - {@link MatchingEngine}: MPI matching of receives and messages
 *   (`ANY_SOURCE`/`ANY_TAG`, non-overtaking, cancel), hashed exact lookups,
 *   opaque payloads so eager data and rendezvous announcements match alike.
 * - Collectives written against a small {@link PointToPoint} interface:
 *   {@link barrier} (dissemination), {@link bcast} (binomial, pipelined for
 *   large buffers), {@link reduce} (binomial), {@link allreduce} (recursive
 *   doubling, ring reduce-scatter + allgather for large vectors),
 *   {@link allgather} (ring), {@link gather}/{@link scatter} (binomial),
 *   {@link alltoall} (pairwise exchange), {@link split}. All are correct for
 *   any number of ranks.
 * - {@link reduceInto}: elementwise sum/prod/min/max of Float64, Float32,
 *   Int32 and BigInt64 arrays.
 * - {@link launchEnv}: rank and size from `rdmajs-run`, Open MPI, PMI, PMIx
 *   or Slurm environments.
 *
 * ```ts
 * import { allreduce, type PointToPoint } from '@rdmajs/mp';
 * const p2p: PointToPoint = ...;                 // rank, size, send, recv
 * const v = new Float64Array(1024).fill(p2p.rank);
 * await allreduce(p2p, v, 'sum');                // v[i] = 0 + 1 + ... + (size-1) on every rank
 * ```
 *
 * Errors: operations reject with {@link MpError} (`code` `'ETRUNC'`,
 * `'EPEERDEAD'`, ...); bad arguments throw `TypeError`/`RangeError` at once.
 * @module
 */
export { init, type InitOptions } from './init.js';
export { Communicator, type RecvOptions } from './comm.js';
export { DEFAULT_EAGER_LIMIT, type TransportOptions } from './transport/transport.js';
export { MpError, truncationError, type MpErrorCode, type MpErrorProps } from './errors.js';
export {
  ANY_SOURCE,
  ANY_TAG,
  MAX_SIZE,
  REDUCE_OPS,
  TAG_UB,
  UNDEFINED_COLOR,
  type Envelope,
  type Group,
  type HostPort,
  type LaunchEnv,
  type Launcher,
  type Rank,
  type Received,
  type ReduceOp,
  type ReducibleArray,
  type Status,
  type Tag,
} from './types.js';
export { MatchingEngine, type DrainedQueues, type PostedReceive, type UnexpectedMessage } from './matching.js';
export { allocLike, reduceInto } from './reduce.js';
export { COLLECTIVE_TAGS, COLLECTIVE_TAG_SPAN, offsetTags, type PointToPoint } from './collectives/p2p.js';
export { barrier } from './collectives/barrier.js';
export { BCAST_PIPELINE_MIN_BYTES, BCAST_SEGMENT_BYTES, bcast, bcastBinomial, bcastPipelined } from './collectives/bcast.js';
export { reduce } from './collectives/reduce.js';
export { ALLREDUCE_RING_MIN_BYTES, allreduce, allreduceRecursiveDoubling, allreduceRing } from './collectives/allreduce.js';
export { allgather } from './collectives/allgather.js';
export { gather } from './collectives/gather.js';
export { scatter } from './collectives/scatter.js';
export { alltoall } from './collectives/alltoall.js';
export { split, splitGroup, type SplitEntry } from './collectives/split.js';
export { launchEnv, parseHostPort } from './bootstrap/env.js';
export {
  MAX_FRAME_BYTES,
  RENDEZVOUS_TIMEOUT_MS,
  exchange,
  formatHostPort,
  openRendezvous,
  type ExchangeOptions,
  type DepartureListener,
  type Rendezvous,
  type RendezvousOptions,
} from './bootstrap/rendezvous.js';
