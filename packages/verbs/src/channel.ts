/**
 * Completion channels: the fd through which completion queues wake the
 * event loop; and `Context.createCompletionChannel()`.
 * @module
 */
import { assertOpen } from './check.js';
import { Context, contextHandle } from './context.js';
import { native, type NativeCompletionChannel } from './native.js';
import { VerbsResource, addMethods } from './resource.js';

/**
 * A completion channel (`ibv_comp_channel`), watched by the libuv loop.
 * Closing it closes the CQs that use it first.
 */
export class CompletionChannel extends VerbsResource {
  /** The device it belongs to. */
  readonly context: Context;

  /** @internal Use {@link Context.createCompletionChannel}. */
  constructor(context: Context) {
    super(new native.CompletionChannel(contextHandle(context)) as NativeCompletionChannel);
    this.context = context;
  }
}

declare module './context.js' {
  interface Context {
    /** Creates a completion channel: the fd through which CQs wake the event loop. */
    createCompletionChannel(): CompletionChannel;
  }
}

addMethods(Context, {
  createCompletionChannel(): CompletionChannel {
    assertOpen(this.closed, 'ibv_create_comp_channel', 'Context');
    return new CompletionChannel(this);
  },
});
