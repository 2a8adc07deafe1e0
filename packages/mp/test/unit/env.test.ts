// launchEnv: each launcher's variables, precedence between them, the
// singleton, and a clear ELAUNCH error for every malformed or contradictory set.
import { describe, expect, it } from 'vitest';

import { MpError, launchEnv, parseHostPort } from '../../src/index.js';

function elaunch(env: NodeJS.ProcessEnv, message: RegExp): void {
  let caught: unknown;
  try {
    launchEnv(env);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MpError);
  expect((caught as MpError).code).toBe('ELAUNCH');
  expect((caught as MpError).message).toMatch(message);
}

describe('launchEnv', () => {
  it('no launcher variables: a singleton', () => {
    expect(launchEnv({ PATH: '/bin', HOME: '/root' })).toEqual({ rank: 0, size: 1, localRank: 0, localSize: 1, launcher: 'singleton' });
    expect(launchEnv({ RDMAJS_MP_ROOT: 'h:1' })).toEqual({
      rank: 0,
      size: 1,
      localRank: 0,
      localSize: 1,
      launcher: 'singleton',
      root: { host: 'h', port: 1 },
    });
  });

  it('rdmajs-run: rank, size, local rank and size, root', () => {
    expect(
      launchEnv({
        RDMAJS_MP_RANK: '3',
        RDMAJS_MP_SIZE: '4',
        RDMAJS_MP_LOCAL_RANK: '1',
        RDMAJS_MP_LOCAL_SIZE: '2',
        RDMAJS_MP_ROOT: '10.9.0.1:29500',
      }),
    ).toEqual({ rank: 3, size: 4, localRank: 1, localSize: 2, launcher: 'rdmajs-run', root: { host: '10.9.0.1', port: 29500 } });
    // Without a local rank: as if on one host.
    expect(launchEnv({ RDMAJS_MP_RANK: '2', RDMAJS_MP_SIZE: '3' })).toEqual({ rank: 2, size: 3, localRank: 2, launcher: 'rdmajs-run' });
  });

  it('Open MPI', () => {
    expect(
      launchEnv({ OMPI_COMM_WORLD_RANK: '5', OMPI_COMM_WORLD_SIZE: '8', OMPI_COMM_WORLD_LOCAL_RANK: '1', OMPI_COMM_WORLD_LOCAL_SIZE: '4' }),
    ).toEqual({ rank: 5, size: 8, localRank: 1, localSize: 4, launcher: 'ompi' });
  });

  it('PMI (hydra, srun --mpi=pmi2)', () => {
    expect(launchEnv({ PMI_RANK: '0', PMI_SIZE: '2', PMI_FD: '7', MPI_LOCALRANKID: '0', MPI_LOCALNRANKS: '2' })).toEqual({
      rank: 0,
      size: 2,
      localRank: 0,
      localSize: 2,
      launcher: 'pmi',
    });
  });

  it('PMIx under srun takes the size from Slurm and checks the ranks agree', () => {
    expect(
      launchEnv({ PMIX_RANK: '3', SLURM_PROCID: '3', SLURM_STEP_NUM_TASKS: '4', SLURM_NTASKS: '16', SLURM_LOCALID: '1' }),
    ).toEqual({ rank: 3, size: 4, localRank: 1, launcher: 'pmix' });
    elaunch({ PMIX_RANK: '2', SLURM_PROCID: '3', SLURM_NTASKS: '4' }, /PMIX_RANK=2 and SLURM_PROCID=3 disagree/);
    elaunch({ PMIX_RANK: '2', PMIX_NAMESPACE: 'prterun-x' }, /PMIX_RANK is set but the job size is not in the environment/);
  });

  it('Slurm: the step task count wins over the allocation; local size from tasks per node', () => {
    expect(
      launchEnv({
        SLURM_PROCID: '6',
        SLURM_NTASKS: '32',
        SLURM_STEP_NUM_TASKS: '7',
        SLURM_LOCALID: '0',
        SLURM_NODEID: '3',
        SLURM_STEP_TASKS_PER_NODE: '2(x3),1',
      }),
    ).toEqual({ rank: 6, size: 7, localRank: 0, localSize: 1, launcher: 'slurm' });
    expect(launchEnv({ SLURM_PROCID: '1', SLURM_NPROCS: '2', SLURM_LOCALID: '1', SLURM_NODEID: '0', SLURM_TASKS_PER_NODE: '2' })).toEqual({
      rank: 1,
      size: 2,
      localRank: 1,
      localSize: 2,
      launcher: 'slurm',
    });
    // Tasks-per-node it cannot read: no local size rather than a wrong one.
    expect(launchEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '2', SLURM_NODEID: '0', SLURM_TASKS_PER_NODE: 'weird' }).localSize).toBeUndefined();
    elaunch({ SLURM_PROCID: '0' }, /SLURM_PROCID is set but none of SLURM_STEP_NUM_TASKS, SLURM_NTASKS, SLURM_NPROCS is/);
  });

  it('precedence: ours, then Open MPI, PMI, PMIx, Slurm (mpirun inside an allocation keeps SLURM_*)', () => {
    const slurm = { SLURM_PROCID: '0', SLURM_NTASKS: '1' };
    const ompi = { OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_SIZE: '4', PMIX_RANK: '2' };
    expect(launchEnv({ ...slurm, ...ompi }).launcher).toBe('ompi');
    expect(launchEnv({ ...slurm, ...ompi, RDMAJS_MP_RANK: '1', RDMAJS_MP_SIZE: '2' })).toMatchObject({ launcher: 'rdmajs-run', rank: 1, size: 2 });
    expect(launchEnv({ ...slurm, PMI_RANK: '0', PMI_SIZE: '3' })).toMatchObject({ launcher: 'pmi', size: 3 });
  });

  it('incomplete sets are errors naming the missing variable', () => {
    elaunch({ RDMAJS_MP_RANK: '0' }, /RDMAJS_MP_RANK is set but RDMAJS_MP_SIZE is not/);
    elaunch({ RDMAJS_MP_SIZE: '2' }, /RDMAJS_MP_SIZE is set but RDMAJS_MP_RANK is not/);
    elaunch({ OMPI_COMM_WORLD_RANK: '0' }, /OMPI_COMM_WORLD_SIZE is not set/);
    elaunch({ PMI_SIZE: '2' }, /PMI_RANK is not set/);
  });

  it('contradictions and malformed numbers are errors quoting the values', () => {
    elaunch({ RDMAJS_MP_RANK: '4', RDMAJS_MP_SIZE: '4' }, /RDMAJS_MP_RANK=4 is not below RDMAJS_MP_SIZE=4/);
    elaunch({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '0' }, /OMPI_COMM_WORLD_SIZE=0 must be in 1\.\./);
    elaunch({ RDMAJS_MP_RANK: '1', RDMAJS_MP_SIZE: '4', RDMAJS_MP_LOCAL_RANK: '2', RDMAJS_MP_LOCAL_SIZE: '2' }, /local rank 2 .* is not below local size 2/);
    elaunch({ RDMAJS_MP_RANK: '1', RDMAJS_MP_SIZE: '4', RDMAJS_MP_LOCAL_SIZE: '5' }, /local size 5 .* must be in 1\.\.4/);
    elaunch({ PMI_RANK: '-1', PMI_SIZE: '2' }, /PMI_RANK="-1" is not a non-negative integer/);
    elaunch({ PMI_RANK: '1.0', PMI_SIZE: '2' }, /PMI_RANK="1.0"/);
    elaunch({ SLURM_PROCID: '0x1', SLURM_NTASKS: '2' }, /SLURM_PROCID="0x1"/);
    elaunch({ RDMAJS_MP_RANK: '0', RDMAJS_MP_SIZE: '1', RDMAJS_MP_ROOT: 'nohost' }, /RDMAJS_MP_ROOT="nohost" must be host:port/);
  });

  it('tolerates surrounding whitespace; empty values count as unset', () => {
    expect(launchEnv({ RDMAJS_MP_RANK: ' 1 ', RDMAJS_MP_SIZE: '2\n', RDMAJS_MP_LOCAL_RANK: '' })).toEqual({
      rank: 1,
      size: 2,
      localRank: 1,
      launcher: 'rdmajs-run',
    });
  });
});

describe('parseHostPort', () => {
  it('host:port and [v6]:port', () => {
    expect(parseHostPort('node-1.example:80')).toEqual({ host: 'node-1.example', port: 80 });
    expect(parseHostPort('[fe80::1%eth0]:65535')).toEqual({ host: 'fe80::1%eth0', port: 65535 });
  });

  it('rejects missing ports, bad ports and bare IPv6', () => {
    for (const bad of ['host', 'host:', 'host:0', 'host:65536', 'fe80::1:80', ':80', 'a b:1']) {
      expect(() => parseHostPort(bad), bad).toThrow(/must be host:port or \[ipv6\]:port/);
    }
  });
});
