/**
 * The connecting side: resolve the listener's address and route, set up
 * the QP, send the request and wait for the answer, all within one
 * deadline.
 * @module
 */
import { MAX_TIMER_MS, int, obj, oneOf, optInt } from '../check.js';
import { rdmaError } from '../errors.js';
import type { AhAttributes } from '../types/qp.js';
import { CM_TYPES, createId } from './channel.js';
import { Connection } from './connection.js';
import { numericHost } from './lookup.js';
import { PRIVATE_MAX, frame, unframe } from './private-data.js';
import { handshake, rdmaDepth, setUp, toRts } from './setup.js';
import type { ConnectOptions } from './types.js';
import { UdConnection } from './ud-connection.js';
import { CmEventWaiter } from './waiter.js';

/**
 * Connects to a listener at `host:port` and resolves with the connection:
 * a {@link Connection} (RC), or with `type: 'UD'` a {@link UdConnection}.
 * @throws TypeError / RangeError for bad options, at once.
 * Rejects with an {@link RdmaError}: `ECONNREFUSED` (a {@link CmRejectError}
 * when the listener rejected, with its `rejectData`), `ETIMEDOUT` after
 * `timeoutMs`, `EHOSTUNREACH` when the address has no RDMA route.
 */
export function connect(options: ConnectOptions & { type: 'UD' }): Promise<UdConnection>;
export function connect(options: ConnectOptions & { type?: 'RC' }): Promise<Connection>;
export function connect(options: ConnectOptions): Promise<Connection | UdConnection>;
export async function connect(options: ConnectOptions): Promise<Connection | UdConnection> {
  const m = 'rdma_connect';
  obj(m, 'options', options);
  const type = oneOf(m, 'type', options.type, CM_TYPES, 'RC');
  const port = int(m, 'port', options.port, 1, 65535);
  const framed = frame(m, options.privateData, PRIVATE_MAX[type].connect);
  const deadline = Date.now() + optInt(m, 'timeoutMs', options.timeoutMs, 10_000, 1, MAX_TIMER_MS);
  const host = await numericHost(m, 'host', options.host, deadline);
  const source = options.source === undefined ? null : await numericHost(m, 'source', options.source, deadline);
  const peer = `${host}:${port}`;

  const id = createId(type);
  const sink = new CmEventWaiter(m, peer);
  return handshake(id, sink, async (made) => {
    id.resolveAddr(source, host, port, Math.max(1, deadline - Date.now()));
    await sink.wait(['ADDR_RESOLVED'], deadline);
    id.resolveRoute(Math.max(1, deadline - Date.now()));
    await sink.wait(['ROUTE_RESOLVED'], deadline);
    if (type === 'UD') {
      const ud = setUp('UD', m, id, options);
      made.qp = ud.qp;
      id.connect({ privateData: framed, qpNum: ud.qp.qpn });
      const reply = await sink.wait(['ESTABLISHED'], deadline);
      if (!reply.ud) throw rdmaError(m, 'EINVAL', `${peer}: the UD reply carried no address`);
      const ah = options.pd.createAh(reply.ud.ahAttr as AhAttributes);
      return new UdConnection(id, ud.qp, ud.qkey, unframe(reply.privateData), { ah, qpn: reply.ud.qpNum, qkey: reply.ud.qkey });
    }
    const qp = (made.qp = setUp('RC', m, id, options));
    const depth = rdmaDepth(m, options);
    id.connect({ privateData: framed, qpNum: qp.qpn, responderResources: depth, initiatorDepth: depth });
    const reply = await sink.wait(['CONNECT_RESPONSE', 'ESTABLISHED'], deadline);
    const ready = toRts(id, qp);
    if (reply.type === 'CONNECT_RESPONSE') id.establish();
    return new Connection(id, ready, unframe(reply.privateData), sink);
  });
}
