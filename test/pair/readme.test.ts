// Every command in the README's ```sh blocks, run verbatim from the repository
// root as a user would after the set-up (`npm run setup`): each must exit 0 and
// print what it promises. A new command in the README must be added below,
// either with what its output must show or with why it is not run here.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');

/** Output each README command must show (matched against stdout + stderr). */
const expectations: Record<string, RegExp> = {
  'npx rdmajs-testbed doctor': /^ready$/m,
  'npx rdmajs-testbed run -- ibv_devinfo -v': /hca_id:\s+rxe0/,
  'npx rdmajs-testbed auto -- npx rdmajs-demo': /RDMA WRITE bandwidth, 64 KiB messages/,
  "npx rdmajs-testbed run --timing deterministic -- sh -c 'ib_send_lat -e -x 1 & sleep 2; ib_send_lat -e -x 1 10.9.0.1'": /t_avg\[usec\]/,
  'npx rdmajs-run --testbed -n 4 node packages/examples/dist/mp-heat.js': /^\[0\] checksum\s+\d/m,
};

/** README commands not run here, and why. */
const notRun: Record<string, string> = {
  'npm run demo': 'the set-up this suite runs after; `npx rdmajs-testbed auto -- npx rdmajs-demo` runs the demo itself',
  'npm test': 'this suite',
  'npm pack -w @rdmajs/native -w @rdmajs/verbs -w @rdmajs/sdp -w @rdmajs/mp -w @rdmajs/testbed --pack-destination /tmp/rdmajs-packs':
    'test/pair/consumer.test.ts packs the same workspaces (and installs and runs them)',
};

/** The commands of the README's ```sh blocks, trailing `# comments` removed. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const commands: string[] = [];
  for (const block of readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of block[1]!.split('\n')) {
      const command = line.replace(/\s{2,}#.*$/, '').trim();
      if (command !== '' && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}

const commands = readmeCommands();

describe('README commands, verbatim', () => {
  it('are each either run here or listed as not run, with why', () => {
    expect(commands.length).toBeGreaterThan(3);
    for (const c of commands) expect(c in expectations || c in notRun, `README command not covered: ${c}`).toBe(true);
    for (const c of [...Object.keys(expectations), ...Object.keys(notRun)]) expect(commands, `gone from the README: ${c}`).toContain(c);
  });

  for (const command of commands.filter((c) => c in expectations)) {
    it(command, async () => {
      // Asynchronous, so vitest's worker stays responsive while a VM runs.
      const { code, out } = await new Promise<{ code: number | string | null; out: string }>((resolve) => {
        execFile('bash', ['-c', command], { cwd: repo, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
          resolve({ code: err ? (err.code ?? err.signal ?? 'failed') : 0, out: `${stdout}${stderr}` }),
        );
      });
      expect(code, `exit ${code}:\n${out.slice(-3000)}`).toBe(0);
      expect(out).toMatch(expectations[command]!);
    });
  }
});
