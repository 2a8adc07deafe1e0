/**
 * `@rdmajs/verbs/internal`: unstable diagnostics for benchmarks and tests.
 * Not part of the API (not in the API site, not covered by semver): what it
 * returns is the addon's object, whose methods skip every check the classes
 * make and may change in any release.
 * @internal
 * @module
 */
import { Context, contextHandle } from './context.js';
import type { CompletionQueue } from './cq.js';
import type { NativeCompletionQueue, NativeContext, NativeQueuePair, NativeResource } from './native.js';
import type { QueuePair } from './qp.js';
import { handle, type VerbsResource } from './resource.js';

/**
 * The addon's object behind a verbs object (e.g. a QP's or CQ's, to time the
 * native calls alone). Unstable: for diagnostics only.
 */
export function nativeHandle(resource: QueuePair): NativeQueuePair;
export function nativeHandle(resource: CompletionQueue): NativeCompletionQueue;
export function nativeHandle(resource: Context): NativeContext;
export function nativeHandle(resource: VerbsResource): NativeResource;
export function nativeHandle(resource: VerbsResource | Context): NativeResource {
  return resource instanceof Context ? contextHandle(resource) : handle(resource);
}
