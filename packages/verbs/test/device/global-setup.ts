// Fails the device suite up front when there is no RDMA device, and says
// which device the run uses. Never skips: run it through `npm test`, which
// boots the SoftRoCE testbed when the host has no device.
import { listDevices, openDevice } from '../../src/index.js';

export default function setup(): void {
  const devices = listDevices();
  if (devices.length === 0) {
    throw new Error(
      'device tests need an RDMA device and none was found. Run `npm test` (it boots the SoftRoCE testbed), ' +
        'or `npx rdmajs-testbed run -- npx vitest run --project device`.',
    );
  }
  using ctx = openDevice();
  const port = ctx.queryPort(1);
  const gid = ctx.defaultGid(1);
  const where = process.env.RDMAJS_TESTBED ? 'SoftRoCE testbed VM' : 'host';
  console.log(
    `[device tests] device ${ctx.name} on ${where}: port 1 ${port.state}, ${port.linkLayer}, MTU ${port.activeMtu}, ` +
      `GID[${gid.index}] ${gid.type} ${gid.ip ?? gid.gid}`,
  );
}
