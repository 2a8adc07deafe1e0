/**
 * Where rank 0 serves the endpoint rendezvous when the launcher did not say:
 * `mpirun` and `srun` know nothing of `RDMAJS_MP_ROOT`, but every rank can
 * compute the same address from the job's own environment. Pure.
 * @module
 */
import type { HostPort, LaunchEnv } from '../types.js';
import { parseHostPort } from './env.js';
import { firstHost } from './hostlist.js';

/** Lowest port {@link deriveRoot} derives (above the well-known and most registered service ports). */
export const DERIVED_PORT_MIN = 20_000;

/** Highest port {@link deriveRoot} derives. */
export const DERIVED_PORT_MAX = 59_999;

/** Loopback: every rank of a one-host job reaches rank 0 there. */
const LOOPBACK = '127.0.0.1';

/**
 * A port in `DERIVED_PORT_MIN..DERIVED_PORT_MAX` from `key` (FNV-1a, 32 bit):
 * the same key gives the same port in every rank, different jobs spread
 * over 40,000 ports. Never throws.
 */
export function hashPort(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return DERIVED_PORT_MIN + (h % (DERIVED_PORT_MAX - DERIVED_PORT_MIN + 1));
}

function set(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Open MPI's job id: `PMIX_NAMESPACE` (4.x and 5.x), else `OMPI_MCA_ess_base_jobid` (4.x). */
function ompiJobId(env: NodeJS.ProcessEnv): string | undefined {
  return set(env, 'PMIX_NAMESPACE') ?? set(env, 'OMPI_MCA_ess_base_jobid');
}

/** The Slurm step's node list, rank 0's node first under srun's block and cyclic distributions. */
function slurmNodelist(env: NodeJS.ProcessEnv): { text: string; name: string } | undefined {
  for (const name of ['SLURM_STEP_NODELIST', 'SLURM_JOB_NODELIST', 'SLURM_NODELIST']) {
    const text = set(env, name);
    if (text !== undefined) return { text, name };
  }
  return undefined;
}

/**
 * Rank 0's rendezvous address, derived from the job's environment so that
 * every rank computes the same one with no message exchanged; `undefined`
 * when it cannot be known. In order:
 *
 * 1. `RDMAJS_MP_ROOT` (`launch.root`, or `env` when `launch` came from
 *    elsewhere) wins: `rdmajs-run` sets it, and users pass it to `mpirun -x`.
 * 2. Open MPI (`launch.launcher === 'ompi'`) with every rank on one host
 *    (`OMPI_COMM_WORLD_LOCAL_SIZE == OMPI_COMM_WORLD_SIZE`): `127.0.0.1` and
 *    a port hashed from the job id (`PMIX_NAMESPACE`, else
 *    `OMPI_MCA_ess_base_jobid`). Open MPI across hosts: `undefined`, since
 *    nothing in the environment says which host rank 0 runs on (init()
 *    then asks for `mpirun -x RDMAJS_MP_ROOT=host:port`).
 * 3. Slurm (`srun`; launchers `'slurm'`, `'pmix'` and `'pmi'` with
 *    `SLURM_JOB_ID` set): the first host of `SLURM_STEP_NODELIST` (else
 *    `SLURM_JOB_NODELIST`, `SLURM_NODELIST`), where srun's block and cyclic
 *    distributions put task 0, and a port hashed from `SLURM_JOB_ID` and
 *    `SLURM_STEP_ID`.
 * 4. Anything else: `undefined` (a singleton needs no root).
 *
 * A derived port can be taken by another program: rank 0 then fails to
 * listen with `EADDRINUSE`, and `RDMAJS_MP_ROOT` overrides the choice.
 * @param env the process environment (`process.env`)
 * @param launch what {@link launchEnv} read from the same environment
 * @throws MpError `'ELAUNCH'` for a malformed `RDMAJS_MP_ROOT` or Slurm node list.
 */
export function deriveRoot(env: NodeJS.ProcessEnv, launch: LaunchEnv): HostPort | undefined {
  if (launch.root !== undefined) return launch.root;
  const given = set(env, 'RDMAJS_MP_ROOT');
  if (given !== undefined) return parseHostPort(given);

  switch (launch.launcher) {
    case 'ompi': {
      const jobId = ompiJobId(env);
      if (jobId === undefined || launch.localSize !== launch.size) return undefined;
      return { host: LOOPBACK, port: hashPort(`ompi:${jobId}`) };
    }
    case 'slurm':
    case 'pmix':
    case 'pmi': {
      const jobId = set(env, 'SLURM_JOB_ID') ?? set(env, 'SLURM_JOBID');
      const nodes = slurmNodelist(env);
      if (jobId === undefined || nodes === undefined) return undefined;
      const stepId = set(env, 'SLURM_STEP_ID') ?? set(env, 'SLURM_STEPID') ?? '';
      return { host: firstHost(nodes.text, nodes.name), port: hashPort(`slurm:${jobId}.${stepId}`) };
    }
    default:
      return undefined;
  }
}
