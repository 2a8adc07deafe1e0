/**
 * Where this process sits in the job, read from the launcher's environment.
 * Pure: it reads only the object it is given.
 *
 * Launchers, first match wins (a job step can carry several sets, e.g.
 * `mpirun` inside a Slurm allocation leaves the allocation's `SLURM_*`
 * behind, so the launcher closest to the process comes first):
 *
 * | launcher | rank | size | local rank / size |
 * |---|---|---|---|
 * | `rdmajs-run` | `RDMAJS_MP_RANK` | `RDMAJS_MP_SIZE` | `RDMAJS_MP_LOCAL_RANK` / `RDMAJS_MP_LOCAL_SIZE` |
 * | `ompi` (Open MPI mpirun) | `OMPI_COMM_WORLD_RANK` | `OMPI_COMM_WORLD_SIZE` | `OMPI_COMM_WORLD_LOCAL_RANK` / `_LOCAL_SIZE` |
 * | `pmi` (MPICH hydra, `srun --mpi=pmi2`) | `PMI_RANK` | `PMI_SIZE` | `MPI_LOCALRANKID` / `MPI_LOCALNRANKS` |
 * | `pmix` (`srun --mpi=pmix`, prrte) | `PMIX_RANK` | the Slurm step's (PMIx keeps it in its server) | `SLURM_LOCALID` |
 * | `slurm` (`srun`) | `SLURM_PROCID` | `SLURM_STEP_NUM_TASKS`, else `SLURM_NTASKS`/`SLURM_NPROCS` | `SLURM_LOCALID` / from `SLURM_STEP_TASKS_PER_NODE` |
 * | `singleton` | 0 | 1 | 0 / 1 |
 *
 * `RDMAJS_MP_ROOT=host:port` (or `[v6addr]:port`) names the endpoint
 * rendezvous under any launcher (pass it with `mpirun -x`). A launcher that
 * gives no local rank gets `localRank = rank` (as if on one host). An
 * empty variable counts as unset.
 * @module
 */
import { MpError } from '../errors.js';
import { MAX_SIZE, type HostPort, type LaunchEnv } from '../types.js';

type Env = Readonly<Record<string, string | undefined>>;

function fail(detail: string): never {
  throw new MpError({ code: 'ELAUNCH' }, detail);
}

/** A set, non-empty variable as a non-negative integer; `undefined` when unset or empty. */
function uint(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const text = raw.trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) fail(`${name}=${JSON.stringify(raw)} is not a non-negative integer`);
  return Number(text);
}

/**
 * Parses `host:port`, `[ipv6]:port`.
 * @throws MpError `'ELAUNCH'` naming `name` for anything else or a port outside 1..65535.
 */
export function parseHostPort(text: string, name = 'RDMAJS_MP_ROOT'): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text.trim()) ?? /^([^:[\]\s]+):(\d+)$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`${name}=${JSON.stringify(text)} must be host:port or [ipv6]:port with a port in 1..65535`);
  }
  return { host: m[1] as string, port };
}

/** Expands Slurm's `2(x3),1` tasks-per-node notation into `[2, 2, 2, 1]`; `undefined` if malformed. */
function tasksPerNode(text: string): number[] | undefined {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (m === null) return undefined;
    const repeat = m[2] === undefined ? 1 : Number(m[2]);
    if (repeat > MAX_SIZE) return undefined;
    for (let i = 0; i < repeat; i++) out.push(Number(m[1]));
  }
  return out;
}

function placed(
  launcher: LaunchEnv['launcher'],
  names: { rank: string; size: string },
  rank: number,
  size: number,
  localRank: number | undefined,
  localSize: number | undefined,
  root: HostPort | undefined,
): LaunchEnv {
  if (size < 1 || size > MAX_SIZE) fail(`${names.size}=${size} must be in 1..${MAX_SIZE}`);
  if (rank >= size) fail(`${names.rank}=${rank} is not below ${names.size}=${size}`);
  if (localSize !== undefined && (localSize < 1 || localSize > size)) fail(`local size ${localSize} (${launcher}) must be in 1..${size}`);
  if (localRank !== undefined && localRank >= (localSize ?? size)) {
    fail(`local rank ${localRank} (${launcher}) is not below ${localSize !== undefined ? `local size ${localSize}` : `size ${size}`}`);
  }
  const out: LaunchEnv = { rank, size, localRank: localRank ?? rank, launcher };
  if (localSize !== undefined) out.localSize = localSize;
  if (root !== undefined) out.root = root;
  return out;
}

/** Launchers that set a rank and a size variable together, in precedence order (see the module table). */
const PAIRED: readonly { launcher: LaunchEnv['launcher']; rank: string; size: string; localRank: string; localSize: string; why: string }[] = [
  {
    launcher: 'rdmajs-run',
    rank: 'RDMAJS_MP_RANK',
    size: 'RDMAJS_MP_SIZE',
    localRank: 'RDMAJS_MP_LOCAL_RANK',
    localSize: 'RDMAJS_MP_LOCAL_SIZE',
    why: 'rdmajs-run sets both',
  },
  {
    launcher: 'ompi',
    rank: 'OMPI_COMM_WORLD_RANK',
    size: 'OMPI_COMM_WORLD_SIZE',
    localRank: 'OMPI_COMM_WORLD_LOCAL_RANK',
    localSize: 'OMPI_COMM_WORLD_LOCAL_SIZE',
    why: 'Open MPI sets OMPI_COMM_WORLD_RANK and OMPI_COMM_WORLD_SIZE together',
  },
  {
    launcher: 'pmi',
    rank: 'PMI_RANK',
    size: 'PMI_SIZE',
    localRank: 'MPI_LOCALRANKID',
    localSize: 'MPI_LOCALNRANKS',
    why: 'a PMI launcher (hydra, srun --mpi=pmi2) sets PMI_RANK and PMI_SIZE together',
  },
];

/** The Slurm step's task count and where it came from (a step may run fewer tasks than the allocation). */
function slurmSize(env: Env): { size: number; name: string } | undefined {
  for (const name of ['SLURM_STEP_NUM_TASKS', 'SLURM_NTASKS', 'SLURM_NPROCS']) {
    const size = uint(env, name);
    if (size !== undefined) return { size, name };
  }
  return undefined;
}

function slurmLocalSize(env: Env): number | undefined {
  const perNode = env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE;
  const node = uint(env, 'SLURM_NODEID');
  if (perNode === undefined || node === undefined) return undefined;
  return tasksPerNode(perNode)?.[node];
}

/**
 * Reads rank, size, local rank and the rendezvous root from a launcher's
 * environment (see the module table); with no launcher variables at all,
 * a singleton (rank 0 of 1).
 * @throws MpError `'ELAUNCH'` when a variable is malformed (not a non-negative integer, bad `host:port`), a
 *   launcher's set is incomplete (e.g. a rank without a size), or values contradict each other (rank >= size,
 *   local rank >= local size, `PMIX_RANK` != `SLURM_PROCID`).
 */
export function launchEnv(env: NodeJS.ProcessEnv): LaunchEnv {
  const e: Env = env;
  const rootText = e.RDMAJS_MP_ROOT;
  const root = rootText === undefined || rootText.trim() === '' ? undefined : parseHostPort(rootText);

  for (const l of PAIRED) {
    const rank = uint(e, l.rank);
    const size = uint(e, l.size);
    if (rank === undefined && size === undefined) continue;
    if (rank === undefined) fail(`${l.size} is set but ${l.rank} is not set (${l.why})`);
    if (size === undefined) fail(`${l.rank} is set but ${l.size} is not set (${l.why})`);
    return placed(l.launcher, l, rank, size, uint(e, l.localRank), uint(e, l.localSize), root);
  }

  const pmixRank = uint(e, 'PMIX_RANK');
  const slurmRank = uint(e, 'SLURM_PROCID');
  if (pmixRank !== undefined) {
    const found = slurmSize(e);
    if (found === undefined) {
      fail(
        'PMIX_RANK is set but the job size is not in the environment (PMIx keeps it in its server): ' +
          'launch with rdmajs-run or srun, or set RDMAJS_MP_RANK and RDMAJS_MP_SIZE',
      );
    }
    if (slurmRank !== undefined && slurmRank !== pmixRank) fail(`PMIX_RANK=${pmixRank} and SLURM_PROCID=${slurmRank} disagree`);
    return placed('pmix', { rank: 'PMIX_RANK', size: found.name }, pmixRank, found.size, uint(e, 'SLURM_LOCALID'), slurmLocalSize(e), root);
  }

  if (slurmRank !== undefined) {
    const found = slurmSize(e);
    if (found === undefined) fail('SLURM_PROCID is set but none of SLURM_STEP_NUM_TASKS, SLURM_NTASKS, SLURM_NPROCS is (start the ranks with srun -n N)');
    return placed('slurm', { rank: 'SLURM_PROCID', size: found.name }, slurmRank, found.size, uint(e, 'SLURM_LOCALID'), slurmLocalSize(e), root);
  }

  const out: LaunchEnv = { rank: 0, size: 1, localRank: 0, localSize: 1, launcher: 'singleton' };
  if (root !== undefined) out.root = root;
  return out;
}
