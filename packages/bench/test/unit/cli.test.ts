// rdmajs-bench's command line: the parsers directly, then the built CLI as a
// process (needs dist/: npx tsc -b) for exit codes and output.
// Nothing here needs an RDMA device.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { USAGE, UsageError, parseArgs } from '../../src/options.js';
import { SDP_USAGE, parseSdpArgs } from '../../src/sdp/options.js';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function node(script: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [dist(script), ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('rdmajs-bench arguments', () => {
  it('answers --help and --version wherever they stand', () => {
    expect(parseArgs(['-h'])).toBe('help');
    expect(parseArgs(['write_bw', '--help'])).toBe('help');
    expect(parseArgs(['--version'])).toBe('version');
    expect(parseArgs(['-V'])).toBe('version');
    expect(parseSdpArgs(['--help'])).toBe('help');
  });

  it('rejects unknown options, missing values and bad numbers with UsageError', () => {
    for (const argv of [['write_bw', '--bogus'], ['write_bw', '-s'], ['write_bw', '-s', '1.5'], ['write_bw', '-p', 'http'], ['frob'], []]) {
      expect(() => parseArgs(argv), argv.join(' ')).toThrow(UsageError);
    }
    for (const argv of [['--bogus'], ['-p'], ['-S', 'x'], ['-C', '0x10'], ['--transport'], ['--transport', 'tcp'], ['a', 'b']]) {
      expect(() => parseSdpArgs(argv), argv.join(' ')).toThrow(UsageError);
    }
  });

  it('takes everything after -- as positional', () => {
    const o = parseArgs(['write_bw', '--', '10.9.0.1']);
    expect(o).toMatchObject({ test: 'write_bw', host: '10.9.0.1' });
  });

  it('help names the sdp subcommand, the environment and the exit codes', () => {
    for (const word of ['rdmajs-bench sdp', 'RDMAJS_DEVICE', 'RDMAJS_DEBUG', 'exit codes', '-V, --version']) expect(USAGE).toContain(word);
    for (const word of ['-h, --help', 'RDMAJS_DEVICE', 'exit codes']) expect(SDP_USAGE).toContain(word);
  });
});

describe('rdmajs-bench as a process', () => {
  it('exits 2 on a usage error with one line and a --help hint', () => {
    expect(node('cli.js', 'write_bw', '--bogus')).toEqual({
      code: 2,
      out: '',
      err: 'rdmajs-bench: unknown option --bogus\n(rdmajs-bench --help shows the usage)\n',
    });
    expect(node('cli.js', 'sdp', '-S', 'x')).toEqual({
      code: 2,
      out: '',
      err: "rdmajs-bench sdp: -S needs an integer >= 1, got 'x'\n(rdmajs-bench sdp --help shows the usage)\n",
    });
  });

  it('--version prints the package version; --help the usage', () => {
    expect(node('cli.js', '--version')).toEqual({ code: 0, out: `${version}\n`, err: '' });
    expect(node('cli.js', '--help')).toEqual({ code: 0, out: `${USAGE}\n`, err: '' });
    expect(node('cli.js', 'sdp', '-h')).toEqual({ code: 0, out: `${SDP_USAGE}\n`, err: '' });
  });
});
