/**
 * Protection domains: memory regions and queue pairs may only be used
 * together when they share one. What a PD creates (`registerMemory()`,
 * `createQp()`...) is added by the file of what it creates (see resource.ts).
 * @module
 */
import { assertOpen } from './check.js';
import { Context, contextHandle } from './context.js';
import { native, type NativeProtectionDomain } from './native.js';
import { VerbsResource, addMethods } from './resource.js';

/**
 * A protection domain (`ibv_pd`). Closing it closes its queue pairs, memory
 * windows, address handles, SRQs and memory regions first.
 */
export class ProtectionDomain extends VerbsResource {
  /** The device this PD belongs to. */
  readonly context: Context;

  /** @internal Use {@link Context.allocPd}. */
  constructor(context: Context) {
    super(new native.ProtectionDomain(contextHandle(context)) as NativeProtectionDomain);
    this.context = context;
  }
}

declare module './context.js' {
  interface Context {
    /**
     * Allocates a protection domain (`ibv_alloc_pd`): the scope in which memory
     * regions and queue pairs may be used together.
     * @throws {@link RdmaError} `EBADF` when the context is closed.
     */
    allocPd(): ProtectionDomain;
  }
}

addMethods(Context, {
  allocPd(): ProtectionDomain {
    assertOpen(this.closed, 'ibv_alloc_pd', 'Context');
    return new ProtectionDomain(this);
  },
});
