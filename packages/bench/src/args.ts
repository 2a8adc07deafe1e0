/**
 * The one command-line scanner of the benchmark's programs (rdmajs-bench,
 * `rdmajs-bench sdp`, mp-osu): `node:util`'s parseArgs in its token mode,
 * with the checks every program shares turned into one-line errors
 * (unknown option, missing value, value given to a switch), and
 * {@link UsageError}, the error the CLIs print with a hint to `--help`
 * and exit 2 on.
 *
 * parseArgs runs non-strict so that these messages are ours and stay the
 * same across Node versions; each program then converts and checks the
 * values it got.
 * @module
 */
import { parseArgs } from 'node:util';

/** A command-line mistake: the CLI prints it with a hint to --help and exits 2. */
export class UsageError extends Error {
  /** Never throws. */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One flag: a switch or a flag with a value, its one-letter form, and the name it counts under. */
export interface FlagSpec {
  /** `boolean`: a switch; `string`: takes a value (`-s 64`, `--size=64`, `-s64`). */
  type: 'boolean' | 'string';
  /** The one-letter form, without the dash. */
  short?: string;
  /** Another spelling of the same flag (`post-list` for `post_list`): its values count under that name. */
  aliasOf?: string;
  /** A switch that takes the next argument as its value when that is all digits (`--profile [<µs>]`). */
  optionalValue?: { pattern: RegExp; otherwise: string };
}

/** What the command line held: positionals in order, and each flag's last value by canonical name. */
export interface Scanned {
  positionals: string[];
  /** Value of each flag given (`true` for a switch). */
  given: Map<string, string | true>;
  /** The spelling each flag was given with (`-s` or `--size`), for messages. */
  spelled: Map<string, string>;
}

/**
 * Scans `argv` against `flags`. Options and positionals mix freely; after
 * `--` everything is positional.
 * @param fail makes the error thrown for a mistake (default: {@link UsageError}).
 * @throws what `fail` makes, for an unknown option, a missing value or a value given to a switch.
 */
export function scanArgs(argv: readonly string[], flags: Readonly<Record<string, FlagSpec>>, fail: (message: string) => Error = (m) => new UsageError(m)): Scanned {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const [name, spec] of Object.entries(flags)) options[name] = spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short };
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const out: Scanned = { positionals: [], given: new Map(), spelled: new Map() };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'positional') out.positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const spec = Object.hasOwn(flags, t.name) ? flags[t.name]! : undefined;
    if (spec === undefined) throw fail(`unknown option ${t.rawName}`);
    const name = spec.aliasOf ?? t.name;
    let value: string | true;
    if (spec.type === 'boolean') {
      if (t.inlineValue === true) throw fail(`${t.rawName} takes no value`);
      const next = tokens[i + 1];
      if (spec.optionalValue === undefined) value = true;
      else if (next?.kind === 'positional' && next.index === t.index + 1 && spec.optionalValue.pattern.test(next.value)) {
        value = next.value;
        i++;
      } else value = spec.optionalValue.otherwise;
    } else {
      if (t.value === undefined) throw fail(`${t.rawName} needs a value`);
      value = t.value;
    }
    out.given.set(name, value);
    out.spelled.set(name, t.rawName);
  }
  return out;
}
