/**
 * # @rdmajs/verbs
 *
 * RDMA verbs for TypeScript: the objects of libibverbs, one class each,
 * with checked arguments, typed errors and event-loop integration.
 *
 * ```ts
 * import { openDevice } from '@rdmajs/verbs';
 * using ctx = openDevice();                    // first device with an active port
 * const pd = ctx.allocPd();
 * const mr = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
 * const cq = ctx.createCq({ channel: ctx.createCompletionChannel() });
 * const qp = pd.createQp({ sendCq: cq });
 * const local = qp.endpoint();                 // send to the peer, get theirs back
 * qp.connect(remote);
 * qp.postSend({ opcode: 'RDMA_WRITE', sg: [{ mr }], remote: { address, rkey } });
 * const wc = await cq.next();                  // event-driven, no busy loop
 * ```
 *
 * Lifetimes: every child holds its parent; closing a parent closes its
 * children first (QPs, then MRs, then the PD...). `close()` twice is harmless,
 * and every class supports `using` (`Symbol.dispose`).
 * @document ../README.md
 * @module @rdmajs/verbs
 */
import { native } from './native.js';

export { CmRejectError, RdmaError, type CmRejectProps, type RdmaErrorProps } from './errors.js';
export type { Access, MemoryAdvice, Mtu, QpState, QpType, SendOpcode, WcOpcode, WcStatus } from './constants.js';
export { VerbsResource } from './resource.js';
export { listDevices, openDevice } from './device.js';
export { Context } from './context.js';
export type { DeviceAttributes, DeviceInfo, GidEntry, GidType, PortAttributes } from './types/device.js';
export type {
  AsyncEvent,
  AsyncEventType,
  ContextEventMap,
  PortAsyncEvent,
  PortEventType,
  QpAsyncEvent,
  QpEventType,
  ResourceAsyncEvent,
  ResourceEventType,
} from './events.js';
export { ProtectionDomain } from './pd.js';
export { MemoryRegion } from './mr.js';
export type { RegisterOptions, RemoteBuffer } from './types/memory.js';
export { RegistrationCache, type Registration, type RegistrationCacheOptions } from './regcache.js';
export { CompletionChannel } from './channel.js';
export { CompletionBatch, wcStatusText } from './batch.js';
export { CompletionQueue } from './cq.js';
export type { CqOptions, WaitOptions, WorkCompletion } from './types/completion.js';
export { QueuePair } from './qp.js';
export { checkEndpoint } from './endpoint.js';
export type {
  ActivateOptions,
  AhAttributes,
  ConnectOptions,
  Endpoint,
  EndpointOptions,
  QpAttributes,
  QpCap,
  QpInfo,
  QpPhase,
  SrqOptions,
} from './types/qp.js';
export type { QpOptions } from './types/qp-options.js';
export type { BindOptions, RecvWr, RemoteTarget, SendWr, Sge, UdTarget } from './types/work-requests.js';
export { PreparedSends } from './prepared.js';
export { SharedReceiveQueue } from './srq.js';
export { AddressHandle } from './ah.js';
export { MemoryWindow } from './mw.js';
export { formatGid, parseGid } from './gid.js';
/** Connection management over rdma_cm: `cm.listen()`, `cm.connect()`. */
export * as cm from './cm/index.js';

/**
 * Makes registered memory safe across `fork()` (`ibv_fork_init`). Call it
 * before opening any device if the process forks (e.g. `child_process`).
 * Registered pages are not mapped in a forked child, whole pages: a region
 * that shares a page with other heap data (a small `Buffer`, including one
 * from `pd.allocateMemory()` below about 128 KiB) takes that data's page out
 * of the child too, and the child can crash before it execs. Register
 * page-sized buffers of their own (e.g. 1 MiB or more) in a process that forks.
 */
export function forkInit(): void {
  native.forkInit();
}
