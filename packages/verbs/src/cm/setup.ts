/**
 * The QP of a connection, set up the same way by both sides: created in the
 * caller's PD, moved to INIT with rdma_cm's attributes, handed to
 * `prepare` (post receives there), and for UD taken on to RTS at once. An
 * RC QP reaches RTR/RTS later, with {@link toRts}, once the CM exchange
 * has given rdma_cm the peer's attributes.
 * @internal
 * @module
 */
import { int, obj, show } from '../check.js';
import { QP_STATE } from '../constants.js';
import { rdmaError } from '../errors.js';
import type { NativeCmId } from '../native.js';
import type { ProtectionDomain } from '../pd.js';
import { modifyRaw, type QueuePair } from '../qp.js';
import { owners, ref, type EventSink } from './channel.js';
import type { CmConnectionOptions, CmType } from './types.js';

/** @internal A UD QP set up to RTS, with the qkey rdma_cm gave it. */
export interface UdSetUp {
  qp: QueuePair<'ready'>;
  qkey: number;
}

function checkPd(method: string, id: NativeCmId, pd: unknown): ProtectionDomain {
  if (typeof pd !== 'object' || pd === null || typeof (pd as ProtectionDomain).createQp !== 'function') {
    throw new TypeError(`${method}: pd must be a ProtectionDomain, got ${show(pd)}`);
  }
  const { context } = pd as ProtectionDomain;
  if (id.device !== context.name) {
    throw rdmaError(method, 'EINVAL', `the address is on device ${id.device}, the PD on ${context.name}`);
  }
  return pd as ProtectionDomain;
}

/**
 * @internal The connection's QP of `type` for `id`: RC in INIT (see
 * {@link toRts}), UD ready. Closes the QP again if any step throws.
 *
 * rdma_init_qp_attr gives a UD QP only its INIT attributes (port, pkey
 * index, and the qkey rdma_cm assigns: 0x01234567 in the UDP port space
 * over IP); RTR and RTS need no more than the state and a send PSN, as in
 * librdmacm's own ucma_init_ud_qp.
 */
export function setUp(type: 'UD', method: string, id: NativeCmId, options: CmConnectionOptions): UdSetUp;
export function setUp(type: 'RC', method: string, id: NativeCmId, options: CmConnectionOptions): QueuePair;
export function setUp(type: CmType, method: string, id: NativeCmId, options: CmConnectionOptions): QueuePair | UdSetUp {
  const pd = checkPd(method, id, options.pd);
  const qp = pd.createQp({ ...obj(method, 'qp', options.qp), type });
  try {
    const init = id.initQpAttr(QP_STATE.INIT);
    modifyRaw(qp, init);
    options.prepare?.(qp);
    if (type === 'RC') return qp;
    modifyRaw(qp, { qpState: QP_STATE.RTR });
    modifyRaw(qp, { qpState: QP_STATE.RTS, sqPsn: 0 });
    return { qp: qp.ready(), qkey: init.qkey as number };
  } catch (err) {
    qp.close();
    throw err;
  }
}

/** @internal An RC QP from INIT to RTS with the attributes rdma_cm now has. */
export function toRts(id: NativeCmId, qp: QueuePair): QueuePair<'ready'> {
  // INIT again first: before the CM exchange rdma_cm gives an initiator's
  // QP no remote access rights; now it knows them (as librdmacm does).
  modifyRaw(qp, id.initQpAttr(QP_STATE.INIT));
  modifyRaw(qp, id.initQpAttr(QP_STATE.RTR));
  modifyRaw(qp, id.initQpAttr(QP_STATE.RTS));
  return qp.ready();
}

/** @internal RC: the RDMA read/atomic depth both ways (`rdmaDepth`, or the device's, at most 16). */
export function rdmaDepth(method: string, options: CmConnectionOptions): number {
  if (options.rdmaDepth !== undefined) return int(method, 'rdmaDepth', options.rdmaDepth, 0, 255);
  return Math.min(options.pd.context.queryDevice().maxQpRdAtom, 16);
}

/** @internal What a handshake has made so far: freed if it fails. */
export interface Made {
  qp?: QueuePair;
}

/**
 * @internal Runs one side's handshake on `id`: `sink` gets the id's events
 * and the process stays alive meanwhile. If `body` fails, the QP it made
 * (recorded in `made`) and the id are freed before the error goes on.
 */
export async function handshake<T>(id: NativeCmId, sink: EventSink, body: (made: Made) => Promise<T>): Promise<T> {
  owners.set(id, sink);
  ref(1);
  const made: Made = {};
  try {
    return await body(made);
  } catch (err) {
    made.qp?.close();
    owners.delete(id);
    id.close();
    throw err;
  } finally {
    ref(-1);
  }
}
