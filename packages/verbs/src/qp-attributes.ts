/**
 * QP attributes between their typed form ({@link QpAttributes},
 * {@link QpInfo}) and the addon's raw numbers, and the attribute sets
 * {@link QueuePair.connect} walks through (INIT, RTR, RTS). Pure functions:
 * the QueuePair class (qp.ts) applies them.
 * @module
 */
import { obj, optInt } from './check.js';
import { QP_STATE, QP_STATE_NAME, accessMask, accessNames, mtuBytes, mtuEnum, type Access, type Mtu, type QpState, type QpType } from './constants.js';
import { rawAhAttr } from './ah.js';
import { formatGid } from './gid.js';
import type { DeviceAttributes, PortAttributes } from './types/device.js';
import type { ConnectOptions, Endpoint, QpAttributes, QpInfo } from './types/qp.js';

const NUMERIC = ['qkey', 'rqPsn', 'sqPsn', 'destQpNum', 'pkeyIndex', 'portNum', 'timeout', 'retryCnt', 'rnrRetry', 'minRnrTimer', 'maxRdAtomic', 'maxDestRdAtomic'] as const;

/** @internal The addon's raw attributes from typed ones; only present fields. */
export function rawQpAttributes(method: string, attributes: QpAttributes): Record<string, unknown> {
  const a = obj<QpAttributes>(method, 'attributes', attributes);
  const raw: Record<string, unknown> = {};
  const state = (name: string, s: QpState | undefined) => {
    if (s === undefined) return;
    const v = QP_STATE[s];
    if (v === undefined) throw new RangeError(`${method}: ${name} '${String(s)}' is not a QP state`);
    raw[name] = v;
  };
  state('qpState', a.qpState);
  state('curQpState', a.curQpState);
  if (a.pathMtu !== undefined) raw.pathMtu = mtuEnum(a.pathMtu);
  if (a.access !== undefined) raw.qpAccessFlags = accessMask(method, a.access);
  for (const k of NUMERIC) if (a[k] !== undefined) raw[k] = a[k];
  if (a.ahAttr !== undefined) raw.ahAttr = rawAhAttr(method, a.ahAttr);
  return raw;
}

/** @internal The typed form of the addon's `query()` result. */
export function qpInfo(raw: Record<string, unknown>): QpInfo {
  const q = raw as Record<string, unknown> & { ahAttr: Record<string, unknown> & { grh?: Record<string, unknown> } };
  const { qpAccessFlags, ...rest } = q;
  const grh = q.ahAttr.grh;
  return {
    ...(rest as unknown as QpInfo),
    qpState: QP_STATE_NAME[q.qpState as number]!,
    pathMtu: mtuBytes(q.pathMtu as number),
    access: accessNames(qpAccessFlags as number),
    ahAttr: { ...(q.ahAttr as unknown as QpInfo['ahAttr']), ...(grh ? { grh: { ...(grh as unknown as NonNullable<QpInfo['ahAttr']['grh']>), dgid: formatGid(grh.dgid as Buffer) } } : {}) },
  };
}

/** @internal `RESET -> INIT`: port, partition and the rights peers get. */
export function initAttributes(type: QpType, port: number, options: ConnectOptions): QpAttributes {
  const access: readonly Access[] = options.access ?? (type === 'RC' ? ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ', 'REMOTE_ATOMIC'] : ['LOCAL_WRITE', 'REMOTE_WRITE']);
  return { qpState: 'INIT', pkeyIndex: options.pkeyIndex ?? 0, portNum: port, access };
}

/** @internal `INIT -> RTR`: where the peer `r` is, seen from local `port` (attributes `local`). */
export function rtrAttributes(
  method: string,
  type: QpType,
  port: number,
  gidIndex: number | undefined,
  local: PortAttributes,
  device: () => DeviceAttributes,
  r: Endpoint,
  options: ConnectOptions,
): QpAttributes {
  const mtu = options.mtu ?? (Math.min(local.activeMtu, r.mtu) as Mtu);
  const global = local.linkLayer === 'ETHERNET' || r.lid === 0;
  const attrs: QpAttributes = {
    qpState: 'RTR',
    pathMtu: mtu,
    destQpNum: r.qpn,
    rqPsn: r.psn,
    ahAttr: {
      dlid: r.lid,
      sl: optInt(method, 'sl', options.sl, 0, 0, 15),
      portNum: port,
      ...(global ? { grh: { dgid: r.gid, sgidIndex: gidIndex ?? 0, hopLimit: options.hopLimit ?? 64, trafficClass: options.trafficClass ?? 0 } } : {}),
    },
  };
  if (type === 'RC') {
    attrs.maxDestRdAtomic = options.maxDestRdAtomic ?? Math.min(device().maxQpRdAtom, 16);
    attrs.minRnrTimer = options.minRnrTimer ?? 12;
  }
  return attrs;
}

/** @internal `RTR -> RTS`: send-side timers and this side's first PSN. */
export function rtsAttributes(type: QpType, psn: number, device: () => DeviceAttributes, options: ConnectOptions): QpAttributes {
  const attrs: QpAttributes = { qpState: 'RTS', sqPsn: psn };
  if (type === 'RC') {
    attrs.timeout = options.timeout ?? 14;
    attrs.retryCnt = options.retryCnt ?? 7;
    attrs.rnrRetry = options.rnrRetry ?? 7;
    attrs.maxRdAtomic = options.maxRdAtomic ?? Math.min(device().maxQpInitRdAtom, 16);
  }
  return attrs;
}
