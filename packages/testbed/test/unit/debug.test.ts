// RDMAJS_DEBUG: channel selection and line format; every package's copy of
// the helper is the same file (verbs, sdp, mp and testbed share no code).
import { readFileSync } from 'node:fs';

import { describe, expect, it, vi } from 'vitest';

import { debugEnabled, debuglog } from '../../src/debug.js';

describe('RDMAJS_DEBUG', () => {
  it('turns on the channels it lists, or all with *', () => {
    expect(debugEnabled('testbed', undefined)).toBe(false);
    expect(debugEnabled('testbed', '')).toBe(false);
    expect(debugEnabled('testbed', 'testbed')).toBe(true);
    expect(debugEnabled('cm', 'sdp, CM')).toBe(true);
    expect(debugEnabled('mp', 'sdp,cm')).toBe(false);
    expect(debugEnabled('mp', '*')).toBe(true);
  });

  it('logs "RDMAJS:<CHANNEL> <pid>: message" on stderr when on, nothing when off', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const on = debuglog('testbed', { RDMAJS_DEBUG: 'testbed' });
      const off = debuglog('mp', { RDMAJS_DEBUG: 'testbed' });
      expect([on.enabled, off.enabled]).toEqual([true, false]);
      on('booting');
      off('ignored');
      expect(write.mock.calls).toEqual([[`RDMAJS:TESTBED ${process.pid}: booting\n`]]);
    } finally {
      write.mockRestore();
    }
  });

  // verbs owns the helper (sdp and mp import @rdmajs/verbs/debug); testbed,
  // which depends on no other package, keeps a copy that must not drift.
  it('is the same helper as @rdmajs/verbs/debug', () => {
    const copy = (pkg: string) => readFileSync(new URL(`../../../${pkg}/src/debug.ts`, import.meta.url), 'utf8');
    expect(copy('verbs')).toBe(copy('testbed'));
  });
});
