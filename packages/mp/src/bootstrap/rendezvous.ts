/**
 * The out-of-band rendezvous `init()` uses to swap endpoints between ranks,
 * with no service besides the job itself: rank 0 listens on TCP at the root
 * address (`RDMAJS_MP_ROOT=host:port`, see {@link launchEnv}), every other
 * rank connects to it (retrying with backoff, since rank 0 may start last)
 * and introduces itself; each round, every rank sends one small JSON blob
 * and rank 0 answers everyone with the whole table once all `size` ranks are
 * in: an allgather. A {@link Rendezvous.barrier} is the same round with an
 * empty blob.
 *
 * ```ts
 * const peers = await exchange({ rank, size, root, payload: myEndpoint });  // peers[r] = rank r's payload
 * ```
 *
 * Wire format: frames of a 4-byte big-endian length and that many bytes of
 * UTF-8 JSON, at most `maxFrameBytes` each (garbage such as an HTTP request
 * reads as an oversized or malformed frame and is refused). Every wait is
 * bounded by `timeoutMs`; a failure at rank 0 (a rank missing, a duplicate
 * rank, a size mismatch) is sent to every connected rank, so nobody waits
 * for a timeout that rank 0 already knows will come.
 *
 * Files: frame.ts (the codec), rendezvous-protocol.ts (the messages),
 * frame-conn.ts (a framed socket), rendezvous-options.ts, session.ts (the
 * {@link Rendezvous} state machine both roles share), root-session.ts (rank
 * 0, and the departures it detects), client-session.ts (the other ranks).
 * This file opens a session of the right role and re-exports the API.
 * @module
 */
import { ClientSession } from './client-session.js';
import { checkOptions, jsonValue, type Checked, type ExchangeOptions, type RendezvousOptions } from './rendezvous-options.js';
import { aborted } from './rendezvous-protocol.js';
import { RootSession } from './root-session.js';
import { SoloSession, type Rendezvous, type Session } from './session.js';

export { formatHostPort } from './format.js';
export { MAX_FRAME_BYTES } from './frame.js';
export { RENDEZVOUS_TIMEOUT_MS, type ExchangeOptions, type RendezvousOptions } from './rendezvous-options.js';
export type { DepartureListener, Rendezvous } from './session.js';

/**
 * Opens a rendezvous session: rank 0 starts listening at `root` (bound to
 * `listenHost`, default `root.host`); every other rank connects, retrying
 * with backoff until `timeoutMs`, and is accepted by rank 0 (which checks its
 * rank and size). Size 1 needs no root and no socket.
 * @throws TypeError / RangeError (synchronously) for a malformed rank, size, root, timeout or frame bound.
 * Rejects with MpError `'ELAUNCH'` (rank 0 cannot listen at the root address, e.g. `EADDRINUSE`),
 * `'ETIMEDOUT'` (naming the root address: nothing accepted the connection, or rank 0 did not answer),
 * `'EINVAL'` (rank 0 refused this rank: duplicate rank, different size), `'EPROTO'` (the root does not speak
 * the protocol), `'ECANCELED'` (the signal fired).
 */
export function openRendezvous(options: RendezvousOptions): Promise<Rendezvous> {
  const opts = checkOptions(options);
  return openChecked(opts, Date.now() + opts.timeoutMs);
}

/**
 * One-shot allgather of small blobs: opens a session, runs one round,
 * closes. The whole call is bounded by `timeoutMs`.
 * @returns every rank's payload (after a JSON round trip), indexed by rank.
 * @throws TypeError / RangeError (synchronously) for malformed options or a payload that is not JSON-able
 *   or exceeds `maxFrameBytes`. Rejects like {@link openRendezvous} and {@link Rendezvous.allgather}, e.g.
 *   `ETIMEDOUT: ranks 2, 3 never connected to 10.9.0.1:7470 within 60 s` at rank 0.
 */
export function exchange(options: ExchangeOptions): Promise<unknown[]> {
  const opts = checkOptions(options);
  const payload = jsonValue(options.payload, opts.maxFrameBytes);
  const deadline = Date.now() + opts.timeoutMs;
  return (async () => {
    const session = await openChecked(opts, deadline);
    try {
      return await session.round(payload, deadline);
    } finally {
      await session.close();
    }
  })();
}

/** Opens a session of the role `opts` give (solo, rank 0, another rank), bounded by `deadline`. */
async function openChecked(opts: Checked, deadline: number): Promise<Session> {
  if (opts.signal?.aborted) throw aborted(opts.signal);
  if (opts.size === 1) return new SoloSession(opts);
  if (opts.rank === 0) {
    const root = new RootSession(opts);
    try {
      await root.listen(deadline);
    } catch (err) {
      await root.close();
      throw err;
    }
    if (opts.signal?.aborted) {
      await root.close();
      throw aborted(opts.signal);
    }
    return root;
  }
  const client = new ClientSession(opts);
  try {
    await client.connect(deadline);
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
