#!/usr/bin/env node
/**
 * rdmajs-testbed: a SoftRoCE VM on demand. `usage.ts` holds the help texts
 * (commands, options, environment, exit codes), `args.ts` the parsing,
 * `stdio.ts` what happens when the reader of the output goes away.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { acceleration } from './accel.js';
import { UsageError, pairExitCode, parseNoArgs, parsePairArgs, parseRunArgs, prefixLines, type CliFlags } from './args.js';
import { cacheDir, cachedTestbed, prepare } from './cache.js';
import { activeRdmaDevices } from './detect.js';
import { TESTBED_FAILED_EXIT_CODE, USAGE_EXIT_CODE } from './exit-codes.js';
import { runOnHost } from './host.js';
import { logToStderr } from './log.js';
import { runInTestbed, runInTestbedPair } from './run.js';
import { exitQuietlyWhenOutputCloses } from './stdio.js';
import { TIMING_ENV, resolveTiming, timingPlan } from './timing.js';
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

function doctor(): number {
  const row = (ok: boolean | 'info', what: string, detail: string) =>
    console.log(`${ok === 'info' ? ' ' : ok ? '✓' : '✗'} ${what.padEnd(22)} ${detail}`);
  let essential = true;
  const host = activeRdmaDevices();
  row('info', 'host RDMA devices', host.length ? host.join(', ') + ' (tests run on them directly)' : 'none (tests use the VM)');
  const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  for (const [cmd, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['apt-get', 'apt'],
    ['dpkg-deb', 'dpkg'],
    ['cpio', 'cpio'],
    ['ip', 'iproute2'],
    ['rdma', 'iproute2'],
  ] as const) {
    const ok = has(cmd);
    if (!ok && !host.length) essential = false;
    row(ok, cmd, ok ? 'found' : `missing: apt-get install ${pkg}`);
  }
  for (const [file, pkg] of [
    ['/usr/include/infiniband/verbs.h', 'libibverbs-dev'],
    ['/usr/include/rdma/rdma_cma.h', 'librdmacm-dev'],
    ['/etc/libibverbs.d/rxe.driver', 'ibverbs-providers'],
  ] as const) {
    const ok = existsSync(file);
    if (!ok) essential = false;
    row(ok, pkg, ok ? 'installed' : `missing: apt-get install ${pkg}`);
  }
  const { accel, why } = acceleration();
  row('info', 'acceleration', accel === 'kvm' ? `kvm (${why})` : `none: tcg emulation, slower but works (${why})`);
  const timing = resolveTiming(undefined);
  row('info', 'timing', `${timingPlan(timing, undefined).meaning}${process.env[TIMING_ENV] ? ` (${TIMING_ENV})` : ''}`);
  if (timing === 'threaded') row('info', '', `--timing deterministic: ${timingPlan('deterministic', undefined).meaning}`);
  const tb = cachedTestbed();
  row('info', 'testbed cache', tb ? `${tb.kernelVersion} in ${cacheDir()}` : `empty (${cacheDir()}); 'rdmajs-testbed prepare' fills it`);
  console.log(essential ? 'ready' : 'missing essentials above');
  return essential ? 0 : 1;
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
