#!/usr/bin/env node
/**
 * rdmajs-testbed: a SoftRoCE VM on demand. `usage.ts` holds the help texts
 * (commands, options, environment, exit codes), `args.ts` the parsing,
 * `doctor.ts` the `doctor` report, `stdio.ts` what happens when the reader of
 * the output goes away.
 */
import { UsageError, pairExitCode, parseNoArgs, parsePairArgs, parseRunArgs, prefixLines, type CliFlags } from './args.js';
import { prepare } from './cache.js';
import { activeRdmaDevices } from './detect.js';
import { doctor } from './doctor.js';
import { TESTBED_FAILED_EXIT_CODE, USAGE_EXIT_CODE } from './exit-codes.js';
import { runOnHost } from './host.js';
import { logToStderr } from './log.js';
import { runInTestbed, runInTestbedPair } from './run.js';
import { exitQuietlyWhenOutputCloses } from './stdio.js';
import { resolveTiming } from './timing.js';
import { COMMAND_HELP, USAGE } from './usage.js';
import { packageVersion } from './version.js';

async function runVm(opts: CliFlags & { command: string[] }): Promise<number> {
  const result = await runInTestbed({ ...opts, onOutput: (s) => process.stdout.write(s) });
  return result.exitCode;
}

async function runPair(opts: CliFlags & { a: string[]; b: string[] }): Promise<number> {
  const { a, b, ...flags } = opts;
  const result = await runInTestbedPair({
    ...flags,
    a: { command: a },
    b: { command: b },
    onOutput: (host, s) => process.stdout.write(prefixLines(`[${host}] `, s)),
  });
  if (!flags.quiet) {
    for (const host of ['a', 'b'] as const) {
      const r = result[host];
      logToStderr(`${host}: exit ${r.exitCode}, boot ${(r.bootMs / 1000).toFixed(1)} s, total ${(r.totalMs / 1000).toFixed(1)} s`);
    }
  }
  return pairExitCode(result.a.exitCode, result.b.exitCode);
}

/** Prints `text` and exits 0: the answer to `-h`/`--help`. */
function help(text: string): number {
  process.stdout.write(text);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run': {
      const opts = parseRunArgs(rest);
      return opts.help ? help(COMMAND_HELP.run) : runVm(opts);
    }
    case 'pair': {
      const opts = parsePairArgs(rest);
      return opts.help ? help(COMMAND_HELP.pair) : runPair(opts);
    }
    case 'auto': {
      const opts = parseRunArgs(rest);
      if (opts.help) return help(COMMAND_HELP.auto);
      const host = activeRdmaDevices();
      if (host.length === 0) return runVm(opts);
      if (!opts.quiet) {
        logToStderr(`using this host's RDMA device(s): ${host.join(', ')}`);
        if (resolveTiming(opts.timing) === 'deterministic') logToStderr('timing: native hardware; deterministic timing applies only to the VM');
      }
      return runOnHost(opts.command, { timeoutMs: opts.timeoutMs, log: logToStderr });
    }
    case 'prepare': {
      if (parseNoArgs(cmd, rest).help) return help(COMMAND_HELP.prepare);
      const tb = await prepare();
      console.log(`testbed ready: kernel ${tb.kernelVersion} in ${tb.root}`);
      return 0;
    }
    case 'doctor':
      return parseNoArgs(cmd, rest).help ? help(COMMAND_HELP.doctor) : doctor();
    case '-h':
    case '--help':
    case 'help':
      return help(USAGE);
    case '-V':
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case undefined:
      throw new UsageError('no command given: run, auto, pair, prepare or doctor');
    default:
      throw new UsageError(cmd.startsWith('-') ? `unknown option ${cmd}` : `unknown command '${cmd}'`);
  }
}

exitQuietlyWhenOutputCloses();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    if (err instanceof UsageError) {
      const [cmd] = process.argv.slice(2);
      const where = cmd !== undefined && Object.hasOwn(COMMAND_HELP, cmd) ? `rdmajs-testbed ${cmd}` : 'rdmajs-testbed';
      process.stderr.write(`rdmajs-testbed: ${err.message}\n(${where} --help shows the usage)\n`);
      process.exit(USAGE_EXIT_CODE);
    }
    process.stderr.write(`rdmajs-testbed: ${err.message}\n`);
    process.exit(TESTBED_FAILED_EXIT_CODE);
  },
);
