// LinePrefixer: whole lines out, each prefixed, whatever the chunking.
import { describe, expect, it } from 'vitest';

import { LinePrefixer } from '../../src/launch/lines.js';

function collect(maxLine?: number) {
  const out: Buffer[] = [];
  const p = new LinePrefixer('[7] ', (c) => out.push(c), maxLine);
  return { p, out, text: () => Buffer.concat(out).toString() };
}

describe('LinePrefixer', () => {
  it('prefixes every line, empty ones too, and holds a partial line until its newline', () => {
    const { p, out, text } = collect();
    p.push(Buffer.from('one\n\nthree'));
    expect(text()).toBe('[7] one\n[7] \n');
    p.push(Buffer.from(' and more'));
    expect(out).toHaveLength(1); // nothing new until the newline
    p.push(Buffer.from('\nfour\n'));
    expect(text()).toBe('[7] one\n[7] \n[7] three and more\n[7] four\n');
    p.flush();
    expect(out).toHaveLength(2); // nothing held back, nothing to flush
  });

  it('gives the same output for every way of cutting the input, multi-byte characters included', () => {
    const input = Buffer.from('héllo wörld\n🚀 rocket\r\nlast line without newline');
    const whole = collect();
    whole.p.push(input);
    whole.p.flush();
    expect(whole.text()).toBe('[7] héllo wörld\n[7] 🚀 rocket\r\n[7] last line without newline\n');
    for (let cut = 0; cut <= input.length; cut++) {
      const { p, text } = collect();
      p.push(input.subarray(0, cut));
      p.push(input.subarray(cut));
      p.flush();
      expect(text()).toBe(whole.text());
    }
  });

  it('breaks a line longer than the bound into prefixed pieces', () => {
    const { p, text } = collect(4);
    p.push(Buffer.from('abcdefghij'));
    p.push(Buffer.from('k\nxy\n'));
    expect(text()).toBe('[7] abcd\n[7] efgh\n[7] ijk\n[7] xy\n');
  });
});
