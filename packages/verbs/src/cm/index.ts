/**
 * Connection management over rdma_cm (librdmacm), event-driven on the
 * libuv loop: listen for and accept RC connections by IP address and port,
 * like TCP, instead of exchanging endpoints yourself.
 *
 * ```ts
 * import { cm } from '@rdmajs/verbs';
 * const listener = await cm.listen({ host: '10.9.0.1', port: 7471 });
 * for await (const req of listener) {
 *   const conn = await req.accept({ pd, qp: { sendCq: cq } });
 * }
 * // elsewhere
 * const conn = await cm.connect({ host: '10.9.0.1', port: 7471, pd, qp: { sendCq: cq } });
 * conn.qp.postSend(...);
 * ```
 *
 * The QP is yours (created in your PD, on the device the address resolves
 * to); rdma_cm supplies its attributes at each state transition. Private
 * data travels framed with a one-byte length, so the peer gets exactly the
 * bytes sent (IB CM pads messages to a fixed size). A refused connect
 * rejects with a `CmRejectError` carrying the listener's `rejectData`.
 *
 * With `type: 'UD'` both sides use rdma_cm's UDP port space: the connect is
 * a service ID resolution (SIDR) request and yields a {@link UdConnection}
 * with an address handle, QP number and qkey of the listener's UD QP.
 *
 * Layout (one concern a file): types.ts (options and data), channel.ts
 * (the event channel and routing), private-data.ts (framing), waiter.ts
 * and event-error.ts (waiting for an event, and what an unexpected one
 * means), lookup.ts (DNS), setup.ts (the QP of either side), connect.ts,
 * request.ts (accept/reject), listener.ts, connection.ts, ud-connection.ts.
 * @module
 */
export type {
  AcceptOptions,
  CmAddress,
  CmConnectOptions,
  CmConnectionOptions,
  CmListenOptions,
  CmQpOptions,
  CmType,
  ConnectOptions,
  ListenOptions,
  NextOptions,
} from './types.js';
export { connect } from './connect.js';
export { Connection } from './connection.js';
export { ConnectionRequest, type CmConnection } from './request.js';
export { Listener, listen } from './listener.js';
export { UdConnection } from './ud-connection.js';
