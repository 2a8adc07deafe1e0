// House rules that a reviewer would otherwise check by eye: no source file
// over 500 lines unless its header says why (CONTRIBUTING.md, "Layout").
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const LIMIT = 500;
// A file allowed past the limit names the reason in its first lines.
const EXCUSE = /over 500 lines because/i;

function trackedSources(): string[] {
  const out = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mts', '*.cts', '*.mjs', '*.cc', '*.h'], {
    cwd: root,
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((f) => f !== '' && !f.endsWith('.d.ts') && !f.includes('/dist/') && !f.includes('node_modules/'));
}

describe('house rules', () => {
  it('no source file is over 500 lines unless its header says why', () => {
    const files = trackedSources();
    expect(files.length).toBeGreaterThan(50);
    const long: string[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(join(root, f), 'utf8');
      } catch {
        continue; // deleted in the working tree, not yet in git
      }
      const lines = text.split('\n').length;
      const header = text.split('\n').slice(0, 15).join('\n');
      if (lines > LIMIT && !EXCUSE.test(header)) long.push(`${f}: ${lines} lines`);
    }
    expect(long).toEqual([]);
  });
});
