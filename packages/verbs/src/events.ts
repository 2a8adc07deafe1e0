/**
 * Async device events (`ibv_get_async_event`), delivered on the event loop as
 * `'event'` on a {@link Context}:
 *
 * ```ts
 * ctx.on('event', (ev) => {
 *   if (ev.type === 'QP_FATAL' && ev.qpNum === qp.qpn) reconnect();
 *   if (ev.type === 'PORT_ERR') console.warn(`port ${ev.port} went down`);
 * });
 * ```
 *
 * Each event is read and acknowledged natively before it is emitted, so a
 * slow or throwing listener never holds up the device (nor `close()` of the
 * QP or CQ the event is about). Events of one context arrive in the order the
 * device raised them.
 * @module
 */
import type { NativeContext } from './native.js';

/**
 * Events affiliated with a queue pair; they carry {@link QpAsyncEvent.qpNum}.
 *
 * - `QP_FATAL`: the QP hit an error no completion can report; it is in the
 *   ERR state.
 * - `QP_REQ_ERR`: the responder saw an invalid request (transport error).
 * - `QP_ACCESS_ERR`: the responder saw a request it may not serve (e.g. an
 *   RDMA operation with a bad rkey).
 * - `COMM_EST`: the first packet arrived on a QP in RTR.
 * - `SQ_DRAINED`: the send queue drained after a move to SQD.
 * - `PATH_MIG` / `PATH_MIG_ERR`: automatic path migration completed / failed.
 * - `QP_LAST_WQE_REACHED`: a QP attached to an SRQ went to ERR and will take
 *   no more receives from it; safe to destroy once its CQ is drained.
 */
export type QpEventType =
  | 'QP_FATAL'
  | 'QP_REQ_ERR'
  | 'QP_ACCESS_ERR'
  | 'COMM_EST'
  | 'SQ_DRAINED'
  | 'PATH_MIG'
  | 'PATH_MIG_ERR'
  | 'QP_LAST_WQE_REACHED';

/**
 * Events affiliated with a port; they carry {@link PortAsyncEvent.port}.
 * `PORT_ACTIVE` / `PORT_ERR`: the port came up / went down; the others report
 * a changed LID, P_Key table, subnet manager, SM re-registration request or
 * GID table.
 */
export type PortEventType = 'PORT_ACTIVE' | 'PORT_ERR' | 'LID_CHANGE' | 'PKEY_CHANGE' | 'SM_CHANGE' | 'CLIENT_REREGISTER' | 'GID_CHANGE';

/**
 * Events about a completion queue, a shared receive queue, a work queue or
 * the whole device. They carry no identifier of the object:
 *
 * - `CQ_ERR`: a CQ overflowed (or failed): completions were lost.
 * - `SRQ_LIMIT_REACHED`: an SRQ fell below the limit armed with
 *   `srqLimit`; the limit disarms itself, so the SRQ whose
 *   `query().srqLimit` is now 0 is the one that fired.
 * - `SRQ_ERR`, `WQ_FATAL`: an SRQ / work queue failed.
 * - `DEVICE_FATAL`: the device is unusable (e.g. removed); close the context.
 * - `UNKNOWN`: an event type newer than this library.
 */
export type ResourceEventType = 'CQ_ERR' | 'SRQ_ERR' | 'SRQ_LIMIT_REACHED' | 'WQ_FATAL' | 'DEVICE_FATAL' | 'UNKNOWN';

/** Every async event type. */
export type AsyncEventType = QpEventType | PortEventType | ResourceEventType;

/** An event about a queue pair. */
export interface QpAsyncEvent {
  /** What happened to the QP. */
  readonly type: QpEventType;
  /** The QP's number: compare with the `qpn` of a `QueuePair`. */
  readonly qpNum: number;
  /** Never set on a QP event. */
  readonly port?: undefined;
}

/** An event about a port. */
export interface PortAsyncEvent {
  /** What happened to the port. */
  readonly type: PortEventType;
  /** The port number (1-based). */
  readonly port: number;
  /** Never set on a port event. */
  readonly qpNum?: undefined;
}

/** An event about a CQ, an SRQ, a work queue or the device. */
export interface ResourceAsyncEvent {
  /** What happened, and to which kind of object. */
  readonly type: ResourceEventType;
  /** Never set on a resource event. */
  readonly qpNum?: undefined;
  /** Never set on a resource event. */
  readonly port?: undefined;
}

/**
 * An async device event. `type` discriminates: narrowing on it (or checking
 * `qpNum` / `port` against `undefined`) gives the typed fields.
 */
export type AsyncEvent = QpAsyncEvent | PortAsyncEvent | ResourceAsyncEvent;

/** The events a {@link Context} emits (its `EventEmitter` map). */
export interface ContextEventMap {
  /** An async event of the device; see {@link AsyncEvent}. */
  event: [event: AsyncEvent];
}

/** @internal The addon's event methods on a native context. */
interface NativeContextEvents extends NativeContext {
  setEventHandler(handler?: (this: NativeContext, event: AsyncEvent) => void): void;
  setEventRef(ref: boolean): void;
}

/** @internal Anything that can emit the events of a context. */
interface EventTarget {
  emit(name: 'event', event: AsyncEvent): boolean;
}

// Native handle -> TS Context. A WeakMap entry keeps nothing alive, so an
// unreferenced context stays collectable; the addon's handler is this one
// module-level function, which pins no context either.
const owners = new WeakMap<NativeContext, EventTarget>();

function dispatch(this: NativeContext, event: AsyncEvent): void {
  owners.get(this)?.emit('event', event);
}

/** @internal Routes the async events of `handle` to `owner.emit('event', ...)`. */
export function watchEvents(handle: NativeContext, owner: EventTarget): void {
  owners.set(handle, owner);
  (handle as NativeContextEvents).setEventHandler(dispatch);
}

/** @internal Whether the event watcher of `handle` keeps the event loop alive. */
export function refEvents(handle: NativeContext, ref: boolean): void {
  (handle as NativeContextEvents).setEventRef(ref);
}
