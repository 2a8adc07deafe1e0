/**
 * The benchmark's only door into the addon objects behind @rdmajs/verbs
 * (`nativeHandle()` of the unstable `@rdmajs/verbs/internal` entry point): hotpath.ts times a few calls on them directly to tell the
 * JavaScript wrapper's cost from the addon's. Every such access goes
 * through this file, so a change in how verbs exposes them touches it alone.
 * @module
 */
import type { CompletionQueue, QueuePair } from '@rdmajs/verbs';
import { nativeHandle } from '@rdmajs/verbs/internal';

/** The addon calls of a queue pair the diagnostics time (see native/index.d.ts). */
export interface NativeQpCalls {
  /** Posts `count` work requests already encoded in the QP's send descriptors. */
  postSend(count: number): void;
  /** Posts `count` receives already encoded in the QP's receive descriptors. */
  postRecv(count: number): void;
}

/** The addon call of a completion queue the diagnostics time. */
export interface NativeCqCalls {
  /** Polls up to `max` completions into the CQ's shared buffer; returns how many. */
  poll(max: number): number;
}

/** The addon object behind a queue pair. */
export function nativeQp(qp: QueuePair): NativeQpCalls {
  return nativeHandle(qp);
}

/** The addon object behind a completion queue. */
export function nativeCq(cq: CompletionQueue): NativeCqCalls {
  return nativeHandle(cq);
}
