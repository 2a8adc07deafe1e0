// The published types of every package (dist/**/*.d.ts, as `tsc -b` leaves
// them; unit tests run after the build) declare no `_`-prefixed member:
// internals stay out of what users see, as ES `#private` fields (which a
// .d.ts shows only as `#private;`) or non-exported module functions.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const packages = join(repo, 'packages');

function declarations(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return declarations(path);
    return name.endsWith('.d.ts') ? [path] : [];
  });
}

// Node's stream implementation hooks: a Duplex subclass must override these
// (they are Node's names, declared by @types/node), so they are not internals.
const NODE_HOOKS = new Set(['_read', '_write', '_writev', '_final', '_destroy', '_construct', '_transform', '_flush']);

// A member line: modifiers, then a name starting with `_`, then `?`, `:`, `(`, `<` or `;`.
const MEMBER = /^\s*(?:(?:private|protected|public|readonly|static|abstract|declare|override|get|set|async)\s+)*(_[\w$]*)\??\s*[:(<;]/;

/** `file:line: name` for every `_`-prefixed member of a .d.ts text. */
function underscoreMembers(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => {
    const m = MEMBER.exec(line);
    return m && !NODE_HOOKS.has(m[1]!) ? [`${file}:${i + 1}: ${m[1]}`] : [];
  });
}

describe('published .d.ts', () => {
  it('the scan finds members however they are declared', () => {
    const sample = ['    private _x;', '    readonly _native: NativeQp;', '    _attach(link: Link): void;', '    static _y?: number;', '    get _z(): number;', '    #private;', '    name_: string;', '    __proto: X;', '    _write(chunk: Buffer, encoding: BufferEncoding, cb: () => void): void;'].join('\n');
    expect(underscoreMembers('t', sample).map((s) => s.split(': ')[1])).toEqual(['_x', '_native', '_attach', '_y', '_z', '__proto']);
  });

  const names = readdirSync(packages).filter((name) => existsSync(join(packages, name, 'src')) && existsSync(join(packages, name, 'tsconfig.json')));

  it.each(names)('@rdmajs/%s declares no `_`-prefixed member', (name) => {
    const dist = join(packages, name, 'dist');
    expect(existsSync(dist), `${name}: no dist/; run \`npx tsc -b\` first`).toBe(true);
    const files = declarations(dist);
    expect(files.length, `${name}: no .d.ts in dist/`).toBeGreaterThan(0);
    const found = files.flatMap((f) => underscoreMembers(relative(repo, f), readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });
});
