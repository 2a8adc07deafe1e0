/**
 * Devices: list them ({@link listDevices}) and open one ({@link openDevice}).
 * The open device, {@link Context}, is in context.ts.
 * @module
 */
import { Context } from './context.js';
import { debuglog } from './debug.js';
import { rdmaError } from './errors.js';
import { native } from './native.js';
import type { DeviceInfo } from './types/device.js';

const debug = debuglog('verbs');

/**
 * Lists the RDMA devices of this host (`ibv_get_device_list`); empty when
 * there is none (or no kernel support).
 */
export function listDevices(): DeviceInfo[] {
  return native.Context.listDevices() as unknown as DeviceInfo[];
}

/**
 * Opens a device by name. Without a name: `$RDMAJS_DEVICE` if set, otherwise
 * the first device with an `ACTIVE` port.
 * @throws {@link RdmaError} `ENODEV` when there is no such device or no device
 * has an active port.
 * @throws TypeError when `name` is not a string.
 */
export function openDevice(name?: string): Context {
  if (name !== undefined && typeof name !== 'string') throw new TypeError('openDevice: name must be a string');
  const wanted = name ?? process.env.RDMAJS_DEVICE;
  if (wanted) {
    debug(`opening ${wanted}${name === undefined ? ' (RDMAJS_DEVICE)' : ''}`);
    return new Context(new native.Context(wanted));
  }
  const devices = listDevices();
  if (devices.length === 0) {
    throw rdmaError('ibv_get_device_list', 'ENODEV', 'no RDMA device on this host (try `npx rdmajs-testbed auto -- <cmd>`)');
  }
  for (const d of devices) {
    const ctx = new Context(new native.Context(d.name));
    const ports = ctx.queryDevice().physPortCnt;
    for (let p = 1; p <= ports; p++) {
      if (ctx.queryPort(p).state === 'ACTIVE') {
        debug(`opened ${d.name}: the first device with an ACTIVE port (${p})`);
        return ctx;
      }
    }
    debug(`skipping ${d.name}: no ACTIVE port`);
    ctx.close();
  }
  throw rdmaError('ibv_open_device', 'ENODEV', `no device has an ACTIVE port (${devices.map((d) => d.name).join(', ')})`);
}
