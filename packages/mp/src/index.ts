/**
 * # @rdmajs/mp
 *
 * Tagged message passing and collectives for Node.js, MPI-style, over RDMA
 * verbs (`@rdmajs/verbs`): one RC queue pair per peer on one shared receive
 * queue and completion queue, eager sends through bounce buffers,
 * rendezvous by RDMA READ for large messages, per-peer credits.
 *
 * ```ts
 * import { init, ANY_SOURCE } from '@rdmajs/mp';
 * const comm = await init();                       // rank, size, peers from rdmajs-run, mpirun or srun
 * await comm.send((comm.rank + 1) % comm.size, 7, new Float64Array([comm.rank]));
 * const m = await comm.recv({ source: ANY_SOURCE, tag: 7, into: new Float64Array(1) });
 * const v = new Float64Array(1024).fill(comm.rank);
 * await comm.allreduce(v, 'sum');                  // v[i] = 0 + 1 + ... + (size-1) on every rank
 * await comm.close();
 * ```
 * Start the ranks with `rdmajs-run -n 4 node app.js` (`--testbed` runs them
 * on a SoftRoCE device in a VM), Open MPI's `mpirun` or Slurm's `srun`.
 *
 * Also exported, for other transports and tests: {@link MatchingEngine}
 * (MPI matching), the collectives over a small {@link PointToPoint}
 * interface, {@link reduceInto}, {@link launchEnv} and the TCP rendezvous.
 *
 * Errors: operations reject with {@link MpError} (`code` `'ETRUNC'`,
 * `'EPEERDEAD'`, ...); bad arguments throw `TypeError`/`RangeError` at once.
 * See docs/mp.md for the protocols and the failure model.
 * @document ../README.md
 * @module @rdmajs/mp
 */
export { init, type InitOptions } from './init.js';
export { Communicator, type RecvOptions } from './comm.js';
export { DEFAULT_EAGER_LIMIT, type TransportOptions } from './transport/config.js';
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
