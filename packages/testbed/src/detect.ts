/**
 * Does this host have an RDMA device of its own? Then nothing needs a VM.
 * @module
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SYSFS = '/sys/class/infiniband';

/** Names of the host's RDMA devices with at least one ACTIVE port. */
export function activeRdmaDevices(): string[] {
  let devices: string[];
  try {
    devices = readdirSync(SYSFS);
  } catch {
    return [];
  }
  return devices.filter((dev) => {
    try {
      return readdirSync(join(SYSFS, dev, 'ports')).some((port) =>
        readFileSync(join(SYSFS, dev, 'ports', port, 'state'), 'utf8').includes('ACTIVE'),
      );
    } catch {
      return false;
    }
  });
}

/** True when the host itself has an active RDMA device (tests and demos then run on it directly). */
export function hasRdmaDevice(): boolean {
  return activeRdmaDevices().length > 0;
}
