/**
 * Per-device resources shared by every SDP socket of the process: the
 * opened device and one completion channel (one fd on the libuv loop, not
 * one per socket). Opened on first use, closed when the last user goes, so
 * an idle process holds nothing and exits.
 * @module
 */
import { openDevice, type CompletionChannel, type Context } from '@rdmajs/verbs';

export interface DeviceHandle {
  readonly ctx: Context;
  readonly channel: CompletionChannel;
  release(): void;
}

interface Entry {
  ctx: Context;
  channel: CompletionChannel;
  users: number;
}

const open = new Map<string, Entry>();

/** The device named `name` (default: the first with an active port). */
export function acquireDevice(name?: string): DeviceHandle {
  let entry = name === undefined ? [...open.values()][0] : open.get(name);
  if (!entry || entry.ctx.closed) {
    const ctx = openDevice(name);
    entry = open.get(ctx.name);
    if (entry && !entry.ctx.closed) {
      ctx.close();
    } else {
      entry = { ctx, channel: ctx.createCompletionChannel(), users: 0 };
      open.set(ctx.name, entry);
    }
  }
  const e = entry;
  e.users++;
  let released = false;
  return {
    ctx: e.ctx,
    channel: e.channel,
    release() {
      if (released) return;
      released = true;
      if (--e.users === 0) {
        open.delete(e.ctx.name);
        e.ctx.close();
      }
    },
  };
}
