// deriveRoot: RDMAJS_MP_ROOT wins; Open MPI on one host and Slurm derive the
// same address in every rank; multi-host Open MPI and unknown launchers give
// none. The Open MPI environments are what `mpirun -n 2 env` printed under
// Open MPI 4.1.4 (trimmed to the variables that matter and a few neighbours).
import { describe, expect, it } from 'vitest';

import { DERIVED_PORT_MAX, DERIVED_PORT_MIN, deriveRoot, hashPort } from '../../src/bootstrap/derive-root.js';
import { launchEnv } from '../../src/bootstrap/env.js';
import { MpError } from '../../src/errors.js';

/** Rank `rank` of an Open MPI 4.1 job of `size` ranks, `localSize` of them on this host. */
function ompiEnv(rank: number, size: number, localSize = size, jobId = '2064384001'): NodeJS.ProcessEnv {
  return {
    OMPI_COMM_WORLD_RANK: String(rank),
    OMPI_COMM_WORLD_SIZE: String(size),
    OMPI_COMM_WORLD_LOCAL_RANK: String(rank % localSize),
    OMPI_COMM_WORLD_LOCAL_SIZE: String(localSize),
    OMPI_COMM_WORLD_NODE_RANK: String(rank % localSize),
    OMPI_MCA_ess_base_jobid: jobId,
    OMPI_MCA_ess_base_vpid: String(rank),
    OMPI_MCA_orte_hnp_uri: `${Number(jobId) - 1}.0;tcp://192.0.2.2:49193`,
    PMIX_NAMESPACE: jobId,
    PMIX_RANK: String(rank),
    PMIX_ID: `${jobId}.${rank}`,
  };
}

/** Task `rank` of an srun step. */
function slurmEnv(rank: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    SLURM_PROCID: String(rank),
    SLURM_STEP_NUM_TASKS: '4',
    SLURM_NTASKS: '4',
    SLURM_LOCALID: String(rank % 2),
    SLURM_NODEID: String(Math.floor(rank / 2)),
    SLURM_STEP_TASKS_PER_NODE: '2(x2)',
    SLURM_JOB_ID: '81234',
    SLURM_STEP_ID: '0',
    SLURM_JOB_NODELIST: 'cn[003-010]',
    SLURM_STEP_NODELIST: 'cn[005-006]',
    ...extra,
  };
}

const derive = (env: NodeJS.ProcessEnv) => deriveRoot(env, launchEnv(env));

describe('deriveRoot', () => {
  it('RDMAJS_MP_ROOT wins over every launcher', () => {
    expect(derive({ ...ompiEnv(1, 4), RDMAJS_MP_ROOT: '10.0.0.5:7000' })).toEqual({ host: '10.0.0.5', port: 7000 });
    expect(derive({ ...ompiEnv(1, 4, 2), RDMAJS_MP_ROOT: '[fd00::1]:7001' })).toEqual({ host: 'fd00::1', port: 7001 });
    expect(derive({ ...slurmEnv(3), RDMAJS_MP_ROOT: 'head:7002' })).toEqual({ host: 'head', port: 7002 });
    expect(derive({ RDMAJS_MP_RANK: '1', RDMAJS_MP_SIZE: '2', RDMAJS_MP_ROOT: '127.0.0.1:7003' })).toEqual({ host: '127.0.0.1', port: 7003 });
    // launch computed without the variable (a caller's own LaunchEnv): the environment's still counts, and is checked.
    expect(deriveRoot({ RDMAJS_MP_ROOT: 'h:9' }, { rank: 0, size: 2, localRank: 0, launcher: 'ompi' })).toEqual({ host: 'h', port: 9 });
    expect(() => deriveRoot({ RDMAJS_MP_ROOT: 'h' }, { rank: 0, size: 2, localRank: 0, launcher: 'ompi' })).toThrow(/^ELAUNCH: RDMAJS_MP_ROOT="h" must be host:port/);
  });

  it('Open MPI on one host: 127.0.0.1 and one port for every rank, hashed from the job id', () => {
    const roots = [0, 1, 2, 3].map((r) => derive(ompiEnv(r, 4)));
    expect(roots[0]).toEqual({ host: '127.0.0.1', port: hashPort('ompi:2064384001') });
    for (const root of roots) expect(root).toEqual(roots[0]);
    // Another job (another mpirun) lands elsewhere.
    expect(derive(ompiEnv(0, 4, 4, '2064449537'))!.port).not.toBe(roots[0]!.port);
    // Without PMIX_NAMESPACE (not every Open MPI sets it): the ess job id.
    const { PMIX_NAMESPACE: _, ...noNamespace } = ompiEnv(0, 4);
    expect(derive(noNamespace)).toEqual({ host: '127.0.0.1', port: hashPort('ompi:2064384001') });
    expect(derive(ompiEnv(0, 1))).toEqual({ host: '127.0.0.1', port: hashPort('ompi:2064384001') });
  });

  it('Open MPI across hosts, or with no job id or local size: none (init() then asks for -x RDMAJS_MP_ROOT)', () => {
    expect(derive(ompiEnv(0, 4, 2))).toBeUndefined();
    expect(derive(ompiEnv(3, 4, 2))).toBeUndefined();
    const { PMIX_NAMESPACE: _n, OMPI_MCA_ess_base_jobid: _j, ...noJob } = ompiEnv(0, 2);
    expect(derive(noJob)).toBeUndefined();
    const { OMPI_COMM_WORLD_LOCAL_SIZE: _l, ...noLocalSize } = ompiEnv(0, 2);
    expect(derive(noLocalSize)).toBeUndefined();
  });

  it('Slurm: the first host of the step, a port hashed from job and step id, the same in every task', () => {
    const roots = [0, 1, 2, 3].map((r) => derive(slurmEnv(r)));
    expect(roots[0]).toEqual({ host: 'cn005', port: hashPort('slurm:81234.0') });
    for (const root of roots) expect(root).toEqual(roots[0]);
    // The next step of the same job gets another port.
    expect(derive(slurmEnv(0, { SLURM_STEP_ID: '1' }))!.port).toBe(hashPort('slurm:81234.1'));
    expect(hashPort('slurm:81234.1')).not.toBe(hashPort('slurm:81234.0'));
    // No step list (an older Slurm, or a batch step): the job's, then the old SLURM_NODELIST.
    expect(derive(slurmEnv(0, { SLURM_STEP_NODELIST: undefined }))!.host).toBe('cn003');
    expect(derive(slurmEnv(0, { SLURM_STEP_NODELIST: undefined, SLURM_JOB_NODELIST: undefined, SLURM_NODELIST: 'old[7-8]' }))!.host).toBe('old7');
    // srun --mpi=pmix: PMIX_RANK, the same Slurm step.
    expect(derive({ ...slurmEnv(2), PMIX_RANK: '2' })).toEqual(roots[0]);
    // srun --mpi=pmi2: PMI_RANK/PMI_SIZE, the same Slurm step.
    expect(derive({ ...slurmEnv(1), PMI_RANK: '1', PMI_SIZE: '4' })).toEqual(roots[0]);
  });

  it('Slurm without a job id or node list: none; a malformed node list: ELAUNCH naming it', () => {
    expect(derive(slurmEnv(0, { SLURM_JOB_ID: undefined }))).toBeUndefined();
    expect(derive(slurmEnv(0, { SLURM_STEP_NODELIST: undefined, SLURM_JOB_NODELIST: undefined }))).toBeUndefined();
    let caught: unknown;
    try {
      derive(slurmEnv(0, { SLURM_STEP_NODELIST: 'cn[005-' }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MpError);
    expect((caught as MpError).code).toBe('ELAUNCH');
    expect((caught as MpError).message).toMatch(/SLURM_STEP_NODELIST="cn\[005-" is not a Slurm host list/);
  });

  it('a singleton, rdmajs-run without a root, MPICH hydra (PMI without Slurm): none', () => {
    expect(derive({})).toBeUndefined();
    expect(derive({ RDMAJS_MP_RANK: '0', RDMAJS_MP_SIZE: '2' })).toBeUndefined();
    expect(derive({ PMI_RANK: '0', PMI_SIZE: '2', MPI_LOCALNRANKS: '2' })).toBeUndefined();
  });
});

describe('hashPort', () => {
  it('stays in DERIVED_PORT_MIN..DERIVED_PORT_MAX and spreads job ids over it', () => {
    const ports = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const port = hashPort(`ompi:${2064384001 + i * 65536}`);
      expect(port).toBeGreaterThanOrEqual(DERIVED_PORT_MIN);
      expect(port).toBeLessThanOrEqual(DERIVED_PORT_MAX);
      ports.add(port);
    }
    // 2000 keys into 40,000 ports: a fair hash collides about 50 times; a poor one far more.
    expect(ports.size).toBeGreaterThan(1900);
    expect(hashPort('')).toBe(hashPort(''));
    expect([DERIVED_PORT_MIN, DERIVED_PORT_MAX]).toEqual([20_000, 59_999]);
  });
});
