/**
 * The process's one rdma_cm event channel and its routing: each event goes
 * to whoever owns its id (a pending operation, a connection, a listener).
 * The channel keeps the process alive while anything is referenced, like
 * net servers and sockets do.
 * @internal
 * @module
 */
import { debuglog } from '../debug.js';
import { native, type NativeCmEvent, type NativeCmEventChannel, type NativeCmId } from '../native.js';
import type { CmType } from './types.js';

/** @internal Whoever an id's events go to. */
export interface EventSink {
  onEvent(event: NativeCmEvent, id: NativeCmId): void;
}

const debug = debuglog('cm');

let channel: NativeCmEventChannel | undefined;
let refs = 0;

/** @internal Owners of ids: set while an id has one, deleted before the id is closed. */
export const owners = new WeakMap<NativeCmId, EventSink>();

function route(id: NativeCmId, event: NativeCmEvent): void {
  if (debug.enabled) {
    const status = event.status ? ` (status ${event.status})` : '';
    const nobody = owners.has(id) || event.type === 'CONNECT_REQUEST' ? '' : ' for an id nobody owns';
    debug(`${event.type}${status}${nobody}`);
  }
  if (event.type !== 'CONNECT_REQUEST') {
    owners.get(id)?.onEvent(event, id);
    return;
  }
  const listener = event.listener && owners.get(event.listener);
  if (listener) {
    listener.onEvent(event, id);
    return;
  }
  // Its listener is closing: refuse now rather than let the peer wait.
  try {
    id.reject();
  } catch {
    /* the peer is gone already */
  }
  id.close();
}

/** @internal The event channel, opened on first use (and again after it closed). */
export function getChannel(): NativeCmEventChannel {
  if (!channel || channel.closed) {
    channel = new native.CmEventChannel();
    channel.setHandler(route);
  }
  return channel;
}

/** @internal Listeners, pending operations and open connections add 1 while they keep the process alive. */
export function ref(delta: number): void {
  refs += delta;
  channel?.setRef(refs > 0);
}

/** @internal The transports rdma_cm connections come in. */
export const CM_TYPES: readonly CmType[] = ['RC', 'UD'];

/** @internal A new id of `type`'s port space (TCP for RC, UDP for UD) on the channel. */
export function createId(type: CmType): NativeCmId {
  const space = type === 'UD' ? native.constants.PORT_SPACE.UDP : native.constants.PORT_SPACE.TCP;
  return new native.CmId(getChannel(), space);
}
