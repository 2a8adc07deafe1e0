// ProtectionDomain.adviseMemory (ibv_advise_mr) on rxe, which has no
// on-demand paging: the verb is reached and refused with EOPNOTSUPP, and bad
// input is refused before it, by the TS layer and by the addon itself.
import { afterAll, describe, expect, it, vi } from 'vitest';

import { RdmaError, openDevice } from '../../src/index.js';
import { nativeHandle } from '../../src/internal.js';
import { native } from '../../src/native.js';

describe('adviseMemory', () => {
  const ctx = openDevice();
  const pd = ctx.allocPd();
  const mr = pd.allocateMemory(8192, ['LOCAL_WRITE']);
  afterAll(() => ctx.close());

  it('reaches ibv_advise_mr, which rxe refuses with EOPNOTSUPP', () => {
    for (const advice of ['PREFETCH', 'PREFETCH_WRITE', 'PREFETCH_NO_FAULT'] as const) {
      let err: unknown;
      try {
        pd.adviseMemory(advice, [{ mr, offset: 4096, length: 4096 }], { flush: true });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RdmaError);
      expect(err).toMatchObject({ code: 'EOPNOTSUPP', syscall: 'ibv_advise_mr' });
    }
  });

  it('refuses bad input in the TS layer before the verb', () => {
    const other = ctx.allocPd();
    const foreign = other.allocateMemory(64);
    expect(() => pd.adviseMemory('PREFETCH_ALL' as never, [{ mr }])).toThrow(RangeError);
    expect(() => pd.adviseMemory('PREFETCH', [])).toThrow(TypeError);
    expect(() => pd.adviseMemory('PREFETCH', [{ mr: foreign }])).toThrow(/another protection domain/);
    expect(() => pd.adviseMemory('PREFETCH', [{ mr, offset: 8192 }])).toThrow(RangeError);
    expect(() => pd.adviseMemory('PREFETCH', [{ mr, offset: 4096, length: 4097 }])).toThrow(RangeError);
    expect(() => pd.adviseMemory('PREFETCH', [{ mr }], { flush: 1 as never })).toThrow(TypeError);
    other.close();
    expect(() => pd.adviseMemory('PREFETCH', [{ mr: foreign }])).toThrow(TypeError);
  });

  it('reaches the addon only with checked input: the advice, flags and resolved ranges', () => {
    const spy = vi.spyOn(nativeHandle(pd), 'adviseMr').mockImplementation(() => {});
    try {
      expect(() => pd.adviseMemory('PREFETCH', [{ mr, offset: 1.5 }])).toThrow(RangeError);
      expect(() => pd.adviseMemory('PREFETCH', [{ mr, length: '8' as never }])).toThrow(TypeError);
      expect(() => pd.adviseMemory('PREFETCH', [{ mr }], null as never)).toThrow(TypeError);
      expect(spy).not.toHaveBeenCalled();
      pd.adviseMemory('PREFETCH_WRITE', [{ mr, offset: 96 }, { mr, length: 8 }], { flush: true });
      const c = native.constants;
      expect(spy.mock.calls).toEqual([
        [c.ADVISE_MR.PREFETCH_WRITE, c.ADVISE_MR_FLAGS.FLUSH, [{ mr: nativeHandle(mr), offset: 96, length: 8096 }, { mr: nativeHandle(mr), offset: 0, length: 8 }]],
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it('the addon checks every argument itself (JS errors, never a crash)', () => {
    const n = nativeHandle(pd);
    const range = (extra: object) => [{ mr: nativeHandle(mr), offset: 0, length: 64, ...extra }];
    expect(() => n.adviseMr(3, 0, range({}))).toThrow(RangeError);
    expect(() => n.adviseMr(0, 2, range({}))).toThrow(RangeError);
    expect(() => n.adviseMr(0, 0, [])).toThrow(RangeError);
    expect(() => n.adviseMr(0, 0, {} as never)).toThrow(TypeError);
    expect(() => n.adviseMr(0, 0, [5 as never])).toThrow(TypeError);
    expect(() => n.adviseMr(0, 0, range({ mr: {} }))).toThrow(TypeError);
    expect(() => n.adviseMr(0, 0, range({ offset: 8190, length: 4 }))).toThrow(/outside its memory region/);
    expect(() => n.adviseMr(0, 0, range({ length: 0 }))).toThrow(RangeError);
    expect(() => n.adviseMr(0, 0, [{ mr: nativeHandle(mr), offset: 0 }] as never)).toThrow(/length is required/);
    const other = ctx.allocPd();
    expect(() => n.adviseMr(0, 0, range({ mr: nativeHandle(other.allocateMemory(64)) }))).toThrow(/another protection domain/);
    other.close();
  });
});
