/**
 * `init()`: from a launcher's environment to a connected world communicator.
 *
 * 1. rank, size and the rendezvous root from the environment (`rdmajs-run`,
 *    Open MPI's `mpirun`, Slurm's `srun`, ...; see `launchEnv`);
 * 2. the RDMA device, one CQ, one SRQ, and the UD queue pair of the
 *    connection handshake;
 * 3. one rendezvous round swaps the handshake addresses (rank 0 serves it
 *    over TCP); RC queue pairs are made and connected per peer on first
 *    use (transport/wireup.ts);
 * 4. the rendezvous session stays open as the job's failure detector: a
 *    rank that dies is known to every other within a round trip, and their
 *    pending operations fail with `'EPEERDEAD'` naming it.
 * @module
 */
import { openDevice, type Context } from '@rdmajs/verbs';

import { deriveRoot } from './bootstrap/derive-root.js';
import { launchEnv } from './bootstrap/env.js';
import { RENDEZVOUS_TIMEOUT_MS, formatHostPort, openRendezvous, type Rendezvous } from './bootstrap/rendezvous.js';
import { Communicator } from './comm.js';
import { debuglog } from '@rdmajs/verbs/debug';
import { Engine } from './engine.js';
import { MpError } from './errors.js';
import type { TransportOptions } from './transport/config.js';
import { VerbsTransport } from './transport/transport.js';

const debug = debuglog('mp');

/** Options of {@link init}. */
export interface InitOptions extends TransportOptions {
  /** RDMA device name. Default: `$RDMAJS_DEVICE`, else the first device with an active port. */
  device?: string;
  /** Bound of the endpoint exchange (waiting for every rank), in ms. Default 60000. */
  timeoutMs?: number;
  /** Where rank, size and root are read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Aborts start-up (rejects with `'ECANCELED'`). */
  signal?: AbortSignal;
}

/**
 * Joins the job and returns its world communicator.
 * @throws TypeError / RangeError for malformed options.
 * Rejects with MpError `'ELAUNCH'` (the environment names no or a bad rank/size/root), `'ETIMEDOUT'` (ranks
 * missing: rank 0's message names them), `'EPEERDEAD'`, `'ECANCELED'`; RdmaError `ENODEV` when there is no device.
 */
export async function init(options: InitOptions = {}): Promise<Communicator> {
  if (typeof options !== 'object' || options === null) throw new TypeError('init: options must be an object');
  const env = options.env ?? process.env;
  const launch = launchEnv(env);
  const root = deriveRoot(env, launch);
  if (launch.size > 1 && root === undefined) {
    throw new MpError(
      { code: 'ELAUNCH' },
      `rank ${launch.rank} of ${launch.size} (launched by ${launch.launcher}) cannot tell where rank 0 serves the endpoint exchange: ` +
        'set RDMAJS_MP_ROOT=host:port (with mpirun: -x RDMAJS_MP_ROOT=<rank 0 host>:<port>)',
    );
  }
  debug(`rank ${launch.rank} of ${launch.size} (${launch.launcher}), rendezvous ${root === undefined ? 'none' : formatHostPort(root)}`);
  const ctx: Context = openDevice(options.device);
  let transport: VerbsTransport | undefined;
  let session: Rendezvous | undefined;
  try {
    const engine = new Engine(launch.rank, launch.size);
    transport = new VerbsTransport(ctx, launch.rank, launch.size, engine, options);
    engine.attach(transport);
    const opened = await openRendezvous({
      rank: launch.rank,
      size: launch.size,
      root,
      timeoutMs: options.timeoutMs ?? RENDEZVOUS_TIMEOUT_MS,
      signal: options.signal,
      // Rank 0 listens on every interface: the root name may be how others see it (NAT, a VM's address).
      listenHost: launch.rank === 0 && root !== undefined ? listenHostFor(root.host) : undefined,
    });
    session = opened;
    debug(`rendezvous open; exchanging endpoints on ${ctx.name}`);
    const table = await opened.allgather(transport.localEndpoint());
    transport.start(table);
    debug(`endpoints of ${table.length} ranks in: wired up`);
    const world = new WorldState(transport, opened);
    opened.onDeparture((rank, clean, detail) => {
      debug(`rank ${rank} left${clean ? '' : ` uncleanly: ${detail}`}`);
      if (!clean) engine.failAll(new MpError({ code: 'EPEERDEAD', peer: rank }, `${detail}: the job lost a rank`));
    });
    const group = Array.from({ length: launch.size }, (_, r) => r);
    return new Communicator(engine, 0, group, launch.rank, world);
  } catch (err) {
    await session?.close();
    if (transport !== undefined) await transport.close();
    else ctx.close();
    throw err;
  }
}

/** Loopback names stay loopback; anything else listens on all IPv4 interfaces. */
function listenHostFor(host: string): string {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' ? host : '0.0.0.0';
}

/** What the world communicator closes. */
class WorldState {
  #closing: Promise<void> | undefined;
  constructor(
    readonly transport: VerbsTransport,
    readonly session: Rendezvous,
  ) {}

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.transport.close();
      await this.session.close();
    })();
    return this.#closing;
  }
}
