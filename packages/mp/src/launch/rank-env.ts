/**
 * The environment `rdmajs-run` gives each rank: the variables
 * {@link launchEnv} reads back on the other side. Pure.
 * @module
 */
import { formatHostPort } from '../bootstrap/format.js';
import type { HostPort } from '../types.js';

/** Where one rank sits in the job. */
export interface RankPlacement {
  rank: number;
  size: number;
  /** Index among the ranks on this host. */
  localRank: number;
  /** Number of ranks on this host. */
  localSize: number;
  /** The rendezvous address rank 0 listens on. */
  root: HostPort;
}

/**
 * `base` plus `RDMAJS_MP_RANK`, `RDMAJS_MP_SIZE`, `RDMAJS_MP_LOCAL_RANK`,
 * `RDMAJS_MP_LOCAL_SIZE` and `RDMAJS_MP_ROOT` (`host:port`, `[v6]:port`),
 * replacing any inherited ones (a nested launch must not see the outer job's).
 * Never throws; `base` is not modified.
 */
export function rankEnv(base: NodeJS.ProcessEnv, placement: RankPlacement): NodeJS.ProcessEnv {
  return {
    ...base,
    RDMAJS_MP_RANK: String(placement.rank),
    RDMAJS_MP_SIZE: String(placement.size),
    RDMAJS_MP_LOCAL_RANK: String(placement.localRank),
    RDMAJS_MP_LOCAL_SIZE: String(placement.localSize),
    RDMAJS_MP_ROOT: formatHostPort(placement.root),
  };
}
