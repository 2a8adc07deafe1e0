/**
 * Plain data types shared by the matching engine, the collectives and the
 * bootstrap: ranks, tags, wildcards, reduction operators, statuses.
 * @module
 */

/** A process's index in a communicator: an integer in `[0, size)`. */
export type Rank = number;

/** A message tag chosen by the user: an integer in `[0, TAG_UB]`. */
export type Tag = number;

/** Receive from any source (only in a receive, never as a destination). */
export const ANY_SOURCE = -1;

/** Receive any tag (only in a receive, never in a send). */
export const ANY_TAG = -1;

/**
 * The largest user tag. Tags are 31-bit so they stay small integers in V8
 * (no heap numbers on the matching path) and fit a 32-bit wire field.
 */
export const TAG_UB = 0x7fff_ffff;

/** The largest communicator size the matching engine and wire format accept. */
export const MAX_SIZE = 0x00ff_ffff;

/** `split()` color of a rank that wants no new communicator (like MPI_UNDEFINED). */
export const UNDEFINED_COLOR = -1;

/** Elementwise reduction operators. */
export type ReduceOp = 'sum' | 'prod' | 'min' | 'max';

/** Every {@link ReduceOp}, in a fixed order (for validation and tests). */
export const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'prod', 'min', 'max'];

/** Typed arrays the reductions accept. */
export type ReducibleArray = Float64Array | Float32Array | Int32Array | BigInt64Array;

/** What a completed receive reports. */
export interface Status {
  /** The rank the message came from (the actual one, also for `ANY_SOURCE`). */
  source: Rank;
  /** The message's tag (the actual one, also for `ANY_TAG`). */
  tag: Tag;
  /** The message's length in bytes. */
  length: number;
}

/** What a receive resolves with: its {@link Status} and the bytes, a view of the receive buffer. */
export interface Received extends Status {
  /** `into`'s first `length` bytes, as a `Uint8Array` view (no copy). */
  data: Uint8Array;
}

/** The envelope of a message as the matching engine sees it. */
export interface Envelope {
  /** The sender's rank. */
  readonly source: Rank;
  /** The message's tag. */
  readonly tag: Tag;
  /** Payload length in bytes (for a rendezvous announcement, the announced length). */
  readonly length: number;
}

/** A rendezvous address of the job's root (`RDMAJS_MP_ROOT=host:port`). */
export interface HostPort {
  /** Host name or IP address. */
  host: string;
  /** TCP port. */
  port: number;
}

/** Who started this process. `'singleton'`: nobody (size 1, no launcher environment). */
export type Launcher = 'rdmajs-run' | 'ompi' | 'pmi' | 'pmix' | 'slurm' | 'singleton';

/** This process's place in the job, as the launcher's environment tells it. */
export interface LaunchEnv {
  /** This process's rank in the job, in `[0, size)`. */
  rank: Rank;
  /** Number of ranks in the job. */
  size: number;
  /** Index among the ranks on this host (the launcher's value, or `rank` when it gives none). */
  localRank: number;
  /** Number of ranks on this host, when the launcher says. */
  localSize?: number;
  /** Which launcher's variables these values came from. */
  launcher: Launcher;
  /** Where rank 0 (or the launcher) serves the endpoint exchange, when the environment names it. */
  root?: HostPort;
}

/** A new group computed by `split()`: who is in it and where this rank sits. */
export interface Group {
  /** The color this group was formed for. */
  color: number;
  /** Old ranks of the members, in new-rank order (`ranks[newRank] = oldRank`). */
  ranks: Rank[];
  /** This process's rank in the group. */
  rank: Rank;
}
