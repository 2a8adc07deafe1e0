// The import graph of every package's src, `import type` and `export ... from`
// included: @rdmajs/verbs must have no cycle (a class file that needs another
// and is needed back ties both into one unit that cannot be read, tested or
// split alone). Other packages are reported, not (yet) asserted.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const packages = join(repo, 'packages');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

// Relative specifiers of import/export statements, dynamic import() and
// `declare module` augmentations, comments stripped first.
function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bdeclare\s+module\s+['"]([^'"]+)['"]/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out.filter((s) => s.startsWith('.'));
}

function resolveTs(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  return undefined;
}

/** The graph of one src directory: file -> files it imports. */
function graph(src: string): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of sources(src)) {
    const deps = specifiers(readFileSync(file, 'utf8'))
      .map((s) => resolveTs(file, s))
      .filter((f): f is string => f !== undefined && f.startsWith(src));
    g.set(file, [...new Set(deps)]);
  }
  return g;
}

/** Every elementary cycle found by a depth-first walk (one per back edge), as paths. */
function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of g.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...g.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

const show = (src: string, cycle: string[]) => cycle.map((f) => relative(src, f)).join(' -> ');

describe('import graphs', () => {
  it('the cycle finder reports a two-file cycle and accepts a tree', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['a']]]))).toEqual([['a', 'b', 'a']]);
    expect(cycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
    expect(specifiers("import type { A } from './a.js';\nexport { B } from \"./b.js\";\n// import './c.js';\ndeclare module './d.js' {}")).toEqual(['./a.js', './b.js', './d.js']);
  });

  it('@rdmajs/verbs src has no import cycle (type imports included)', () => {
    const src = join(packages, 'verbs', 'src');
    const g = graph(src);
    expect(g.size).toBeGreaterThan(10);
    expect(cycles(g).map((c) => show(src, c))).toEqual([]);
  });

  it('reports the cycles of the other packages', () => {
    for (const name of readdirSync(packages)) {
      const src = join(packages, name, 'src');
      if (name === 'verbs' || !existsSync(src)) continue;
      for (const c of cycles(graph(src))) console.warn(`@rdmajs/${name}: import cycle ${show(src, c)}`);
    }
  });
});
