/**
 * The command-line frame the examples share, so each example is about its
 * verbs and not its argv: `node:util`'s parseArgs, `-h/--help`,
 * `-V/--version`, one-line usage errors with exit code 2, failures with
 * exit code 1.
 * @module
 */
import { parseArgs } from 'node:util';

import { packageVersion } from './version.js';

/** Flags of an example: parseArgs' option descriptions. */
export type Flags = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** What an example's `main` gets: the flag values and the positionals. */
export interface Args {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** A command-line mistake: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {}

/**
 * The integer value of flag `name` (or `fallback` when not given), at least `min`.
 * @throws UsageError when it is not an integer >= min.
 */
export function intFlag(args: Args, name: string, fallback: number, min = 1): number {
  const v = args.values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} needs an integer >= ${min}, got '${String(v)}'`);
  return n;
}

/**
 * Parses the command line and runs `main`; sets the exit code (0 done,
 * 1 failed, 2 usage error).
 */
export function runExample(name: string, usage: string, flags: Flags, main: (args: Args) => Promise<void> | void, argv = process.argv.slice(2)): void {
  const hint = `(${name} --help shows the usage)`;
  let args: Args;
  try {
    const parsed = parseArgs({ args: argv, options: { ...flags, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } }, allowPositionals: true });
    args = { values: parsed.values as Args['values'], positionals: parsed.positionals };
  } catch (err) {
    // parseArgs' messages go on with advice about '--'; the first sentence says it.
    process.stderr.write(`${name}: ${(err as Error).message.split('. ')[0]}\n${hint}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.values.help) return void process.stdout.write(usage);
  if (args.values.version) return void process.stdout.write(`${packageVersion()}\n`);
  Promise.resolve()
    .then(() => main(args))
    .then(
      () => {
        process.exitCode ??= 0;
      },
      (err: unknown) => {
        const usageError = err instanceof UsageError;
        process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n${usageError ? `${hint}\n` : ''}`);
        process.exitCode = usageError ? 2 : 1;
      },
    );
}
