// rdmajs-bench's option parsing (node:util parseArgs under src/args.ts):
// defaults per test as perftest's, every flag's spellings, and the mistakes
// that must become one-line UsageErrors.
import { describe, expect, it } from 'vitest';

import { UsageError, scanArgs } from '../../src/args.js';
import { USAGE, parseArgs, type Options } from '../../src/options.js';
import { parseSdpArgs } from '../../src/sdp/options.js';
import { MAX_SIZE, TESTS, allSizes, checkRunParams, runParams } from '../../src/verbs/params.js';

const parse = (...argv: string[]) => parseArgs(argv) as Options;

describe('rdmajs-bench options', () => {
  it('takes perftest defaults per test kind', () => {
    expect(parse('write_bw')).toMatchObject({ test: 'write_bw', sizes: [65536], iterations: 5000, txDepth: 128, rxDepth: 512, postList: 1, cqMod: 1, inlineSize: 0, warmup: 500, port: 18515, ibPort: 1, stallS: 30, connectS: 60, profileUs: 0, host: undefined, device: undefined, gidIndex: undefined, events: false, json: false });
    expect(parse('write_bw', '-s', '64')).toMatchObject({ sizes: [64], cqMod: 100 });
    expect(parse('send_lat')).toMatchObject({ sizes: [2], iterations: 1000, txDepth: 1, cqMod: 1, inlineSize: 236, warmup: 100 });
    expect(parse('write_lat').inlineSize).toBe(220);
    expect(parse('read_lat').inlineSize).toBe(0);
    expect(parse('atomic_bw', '-s', '4096').sizes).toEqual([8]);
    expect(parse('ib_read_bw').test).toBe('read_bw');
  });

  it('reads every flag in its short, long and --flag=value spellings', () => {
    const o = parse('send_bw', '10.9.0.1', '-s', '128', '--iters=320', '-w', '64', '-t', '64', '--rx-depth', '256', '--post-list', '32', '-Q', '16', '--inline_size', '64', '-d', 'rxe0', '-i', '2', '-x', '3', '-p', '9999', '--json', '--stall', '5', '--connect-timeout', '7', '-e');
    expect(o).toMatchObject({ test: 'send_bw', host: '10.9.0.1', sizes: [128], iterations: 320, warmup: 64, txDepth: 64, rxDepth: 256, postList: 32, cqMod: 16, inlineSize: 64, device: 'rxe0', ibPort: 2, gidIndex: 3, port: 9999, json: true, stallS: 5, connectS: 7, events: true });
    expect(parse('write_bw', '-s64', '-l', '4', '-n', '400').postList).toBe(4);
    expect(parse('write_bw', '--post_list', '8', '-n', '800').postList).toBe(8);
    expect(parse('write_bw', '-D', '3')).toMatchObject({ durationS: 3, warmup: 1000 });
    expect(parse('write_bw', '-a').sizes).toEqual(allSizes());
    expect(allSizes().at(-1)).toBe(MAX_SIZE);
  });

  it('--profile takes an optional number of µs', () => {
    expect(parse('write_bw', '--profile').profileUs).toBe(1000);
    expect(parse('write_bw', '--profile', '500', '10.9.0.1')).toMatchObject({ profileUs: 500, host: '10.9.0.1' });
    expect(parse('write_bw', '--profile', '10.9.0.1')).toMatchObject({ profileUs: 1000, host: '10.9.0.1' });
  });

  it('says what is wrong in one line', () => {
    const message = (...argv: string[]) => {
      try {
        parseArgs(argv);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(message('write_bw', '--bogus')).toBe('unknown option --bogus');
    expect(message('write_bw', '-z')).toBe('unknown option -z');
    expect(message('write_bw', '-s')).toBe('-s needs a value');
    expect(message('write_bw', '--json=1')).toBe('--json takes no value');
    expect(message('write_bw', '-s', '1.5')).toBe("--size must be an integer in [1, 8388608], got '1.5'");
    expect(message()).toBe('no test given');
    expect(message('frob')).toBe("unknown test 'frob'");
    expect(message('write_bw', 'a', 'b')).toBe("unexpected argument 'b'");
    expect(message('send_lat', '-l', '2')).toMatch(/post list/);
    expect(message('write_lat', '-e')).toMatch(/events \(-e\) do not apply/);
    expect(message('write_bw', '-D', '1', '-a')).toBe('-D and -a do not combine');
  });

  it('every flag of the help text parses', () => {
    const flags = [...USAGE.matchAll(/^\s+(?:(-\w), )?(--[\w-]+)/gm)].flatMap((m) => [m[1], m[2]]).filter((f): f is string => f !== undefined);
    expect(flags.length).toBeGreaterThan(30);
    for (const flag of flags) {
      const argv = ['write_bw', flag];
      if (!/^(-a|--all|-e|--events|--json|--profile|-h|--help|-V|--version)$/.test(flag)) argv.push(flag === '-d' || flag === '--ib-dev' ? 'rxe0' : '1');
      expect(() => parseArgs(argv), flag).not.toThrow();
    }
  });

  it('checks the run parameters a peer sends', () => {
    const p = runParams(parse('write_bw', '-s', '64'));
    expect(checkRunParams(JSON.parse(JSON.stringify(p)))).toEqual(p);
    expect(() => checkRunParams({ ...p, test: 'rm_rf' })).toThrow(/unknown test/);
    expect(() => checkRunParams({ ...p, sizes: [0] })).toThrow(/bad sizes/);
    expect(() => checkRunParams({ ...p, txDepth: 1.5 })).toThrow(/bad txDepth/);
    expect(() => checkRunParams(null)).toThrow(/no run parameters/);
    expect(TESTS).toHaveLength(7);
  });
});

describe('rdmajs-bench sdp options', () => {
  it('has rstream-like defaults and reads every flag', () => {
    expect(parseSdpArgs([])).toEqual({ transport: 'sdp', port: 18600, size: 64, count: 1000, stream: false, busyPollUs: 0, json: false });
    expect(parseSdpArgs(['10.9.0.1', '--transport', 'net', '-p', '1234', '-S', '4096', '--count=7', '--warmup', '5000', '--stream', '--busy', '100', '--ring', '8192', '--zero-copy', '0', '--json'])).toEqual({
      host: '10.9.0.1', transport: 'net', port: 1234, size: 4096, count: 7, warmup: 5000, stream: true, busyPollUs: 100, ringSize: 8192, zeroCopyThreshold: 0, json: true,
    });
  });

  it('names the flag as spelled in its errors', () => {
    expect(() => parseSdpArgs(['--size', 'x'])).toThrow("--size needs an integer >= 1, got 'x'");
    expect(() => parseSdpArgs(['-S', '-1'])).toThrow("-S needs an integer >= 1, got '-1'");
    expect(() => parseSdpArgs(['--ring', '100'])).toThrow("--ring needs an integer >= 4096, got '100'");
    expect(() => parseSdpArgs(['--transport', 'tcp'])).toThrow("--transport needs sdp or net, got 'tcp'");
    expect(() => parseSdpArgs(['a', 'b'])).toThrow("unexpected argument 'b' (the server address is 'a')");
  });
});

describe('the shared scanner', () => {
  it("keeps positionals after --, last value wins, and makes the caller's error", () => {
    const s = scanArgs(['-n', '1', 'x', '--n=2', '--', '-n', '3'], { n: { type: 'string', short: 'n' } });
    expect(s.positionals).toEqual(['x', '-n', '3']);
    expect(s.given.get('n')).toBe('2');
    expect(s.spelled.get('n')).toBe('--n');
    expect(() => scanArgs(['-q'], {}, (m) => new RangeError(m))).toThrow(RangeError);
    expect(() => scanArgs(['--constructor'], {})).toThrow('unknown option --constructor');
  });
});
