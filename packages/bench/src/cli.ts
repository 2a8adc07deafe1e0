#!/usr/bin/env node
/**
 * rdmajs-bench: perftest's tests, written against @rdmajs/verbs.
 *
 *   rdmajs-bench write_bw                 # server
 *   rdmajs-bench write_bw 10.9.0.1        # client: runs the test, both print it
 *
 * Tests: write_bw, read_bw, send_bw, atomic_bw, send_lat, write_lat,
 * read_lat; `rdmajs-bench sdp` benchmarks @rdmajs/sdp streams (see sdp.ts).
 * `rdmajs-bench --help` lists the flags, the environment and the exit codes
 * (0 done, 1 failed, 2 bad command line, 3 stalled in an event-driven loop).
 * @module
 */
import { USAGE, UsageError, parseArgs } from './options.js';
import { runClient, runServer } from './verbs/session.js';
import { SDP_USAGE, formatSdpResult, parseSdpArgs, runSdpClient, serveSdp } from './sdp/sdp.js';
import { packageVersion } from './version.js';

/** Exit code of a command line the benchmark rejects. */
const USAGE_EXIT_CODE = 2;

async function sdpMain(argv: string[]): Promise<number> {
  const o = parseSdpArgs(argv);
  if (o === 'help') {
    process.stdout.write(SDP_USAGE + '\n');
    return 0;
  }
  if (o.host === undefined) {
    await serveSdp(o);
    return 0;
  }
  const r = await runSdpClient(o);
  process.stdout.write((o.json ? JSON.stringify(r) : formatSdpResult(r)) + '\n');
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'sdp') return sdpMain(argv.slice(1));
  const options = parseArgs(argv);
  if (options === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (options === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const report = options.host !== undefined ? await runClient(options) : await runServer(options);
  if (options.json) process.stdout.write(JSON.stringify(report) + '\n');
  return 0;
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      const where = argv[0] === 'sdp' ? 'rdmajs-bench sdp' : 'rdmajs-bench';
      process.stderr.write(`${where}: ${err.message}\n(${where} --help shows the usage)\n`);
      process.exitCode = USAGE_EXIT_CODE;
      return;
    }
    process.stderr.write(`rdmajs-bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
