// Fails the device suite up front when there is no RDMA device, and says
// which device the run uses. Never skips: run it through `npm test`, which
// boots the SoftRoCE testbed when the host has no device.
//
// The probe runs in a child process: vitest's own process (which hosts the
// module transforms for every test file) never loads the addon or opens a
// device, so nothing of ours lives in it for the whole run.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const probe = `
const { listDevices, openDevice } = await import(process.argv[1]);
if (listDevices().length === 0) {
  console.log('NONE');
} else {
  const ctx = openDevice();
  try {
    const port = ctx.queryPort(1);
    const gid = ctx.defaultGid(1);
    console.log(\`device \${ctx.name}: port 1 \${port.state}, \${port.linkLayer}, MTU \${port.activeMtu}, GID[\${gid.index}] \${gid.type} \${gid.ip ?? gid.gid}\`);
  } finally {
    ctx.close();
  }
}
`;

export default function setup(): void {
  const verbs = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe, verbs], { encoding: 'utf8' }).trim();
  if (out === 'NONE') {
    throw new Error(
      'device tests need an RDMA device and none was found. Run `npm test` (it boots the SoftRoCE testbed), ' +
        'or `npx rdmajs-testbed run -- npx vitest run --project device`.',
    );
  }
  const where = process.env.RDMAJS_TESTBED ? 'SoftRoCE testbed VM' : 'host';
  console.log(`[device tests] ${out.replace(/^device (\S+):/, `device $1 on ${where}:`)}`);
}
