// The one error module and the one checking helper: real classes with
// Node-style fields (negative errno), typed reject data, one message style.
import { getSystemErrorName } from 'node:util';

import { describe, expect, expectTypeOf, it } from 'vitest';

import * as check from '../../src/check.js';
import { eventError } from '../../src/cm/event-error.js';
import { frame, unframe } from '../../src/cm/private-data.js';
import { CmRejectError, RdmaError, cm } from '../../src/index.js';
import { rdmaError } from '../../src/errors.js';
import { native, type NativeCmEvent } from '../../src/native.js';

function event(type: NativeCmEvent['type'], status: number, privateData = Buffer.alloc(0)): NativeCmEvent {
  return { type, status, privateData } as NativeCmEvent;
}

describe('RdmaError', () => {
  it('is a real Error subclass with code, negative errno and syscall', () => {
    const err = rdmaError('ibv_modify_qp', 'EINVAL', 'QP 7');
    expect(err).toBeInstanceOf(RdmaError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('RdmaError');
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'ibv_modify_qp' });
    expect(err.errno).toBeLessThan(0);
    expect(getSystemErrorName(err.errno)).toBe('EINVAL');
    expect(err.message).toBe('ibv_modify_qp: Invalid argument (EINVAL): QP 7');
    expect(err.stack).toContain('RdmaError');
  });

  it('stores the negative errno whichever sign it is given (libibverbs reports positive ones)', () => {
    expect(new RdmaError('m', { code: 'EBADF', errno: 9, syscall: 'x' }).errno).toBe(-9);
    expect(new RdmaError('m', { code: 'EBADF', errno: -9, syscall: 'x' }).errno).toBe(-9);
    expect(Object.is(new RdmaError('m', { code: 'EUNKNOWN', errno: 0, syscall: 'x' }).errno, 0)).toBe(true);
  });

  it('keeps posted and cause when given', () => {
    const cause = new Error('under');
    const err = new RdmaError('m', { code: 'EINVAL', errno: 22, syscall: 'ibv_post_send', posted: 2 }, { cause });
    expect(err.posted).toBe(2);
    expect(err.cause).toBe(cause);
    expect('posted' in rdmaError('x', 'EIO', 'y')).toBe(false);
  });

  it('is the class the native addon throws', () => {
    // No device (this host): the channel fails with ENODEV; with one, an id
    // on a closed channel fails with EBADF. Both come from the addon.
    let caught: unknown;
    try {
      const ch = new native.CmEventChannel();
      ch.close();
      new native.CmId(ch, native.constants.PORT_SPACE.TCP);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RdmaError);
    const err = caught as RdmaError;
    expect(typeof err.code).toBe('string');
    expect(err.errno).toBeLessThanOrEqual(0);
    expect(err.message.startsWith(`${err.syscall}: `)).toBe(true);
  });
});

describe('CmRejectError', () => {
  it('is an RdmaError with ECONNREFUSED and typed rejectData', () => {
    const err = new CmRejectError('rdma_connect', '10.0.0.1:7: go away', { rejectData: Buffer.from('go away'), reason: 28 });
    expect(err).toBeInstanceOf(CmRejectError);
    expect(err).toBeInstanceOf(RdmaError);
    expect(err.name).toBe('CmRejectError');
    expect(err).toMatchObject({ code: 'ECONNREFUSED', syscall: 'rdma_connect', reason: 28 });
    expect(getSystemErrorName(err.errno)).toBe('ECONNREFUSED');
    expect(err.rejectData.toString()).toBe('go away');
    expect(err.message).toMatch(/^rdma_connect: Connection refused \(ECONNREFUSED\): /);
    expectTypeOf(err.rejectData).toEqualTypeOf<Buffer>();
    expectTypeOf(err.reason).toEqualTypeOf<number>();
  });

  it('is what a REJECTED event or a SIDR reject becomes, with the unframed reject data', () => {
    const framed = frame('t', Buffer.from('not today'), 100)!;
    const rc = eventError('rdma_connect', event('REJECTED', 28, framed), '10.0.0.1:1');
    expect(rc).toBeInstanceOf(CmRejectError);
    expect((rc as CmRejectError).rejectData.toString()).toBe('not today');
    expect((rc as CmRejectError).reason).toBe(28);
    const ud = eventError('rdma_connect', event('UNREACHABLE', 2, framed), 'h:1');
    expect(ud).toBeInstanceOf(CmRejectError);
    expect((ud as CmRejectError).rejectData.toString()).toBe('not today');
    const none = eventError('rdma_connect', event('UNREACHABLE', 1), 'h:1');
    expect(none).toMatchObject({ code: 'ECONNREFUSED', reason: 1 });
    expect((none as CmRejectError).rejectData.length).toBe(0);
  });

  it('other events map to ETIMEDOUT, EHOSTUNREACH or ECONNRESET RdmaErrors', () => {
    const timedOut = -110;
    expect(eventError('m', event('UNREACHABLE', timedOut), 'h:1')).toMatchObject({ code: 'ETIMEDOUT' });
    expect(eventError('m', event('ADDR_ERROR', timedOut), 'h:1')).toMatchObject({ code: 'ETIMEDOUT' });
    expect(eventError('m', event('ROUTE_ERROR', -113), 'h:1')).toMatchObject({ code: 'EHOSTUNREACH' });
    const reset = eventError('m', event('DISCONNECTED', 0), 'h:1');
    expect(reset).toMatchObject({ code: 'ECONNRESET' });
    expect(reset).not.toBeInstanceOf(CmRejectError);
  });
});

describe('private-data framing', () => {
  it('round-trips exact bytes and refuses too many or a non-buffer', () => {
    expect(unframe(frame('t', Buffer.from('abc'), 10)!).toString()).toBe('abc');
    expect(unframe(Buffer.alloc(0)).length).toBe(0);
    expect(frame('t', undefined, 10)).toBeUndefined();
    expect(() => frame('rdma_connect', Buffer.alloc(11), 10)).toThrow(/^rdma_connect: privateData must be at most 10 bytes, got 11$/);
    expect(() => frame('rdma_connect', 'abc', 10)).toThrow(TypeError);
  });
});

describe('check: one message style', () => {
  it('names the argument, the expectation and what was received', () => {
    expect(() => check.int('m', 'depth', '5', 0, 9)).toThrow(new TypeError('m: depth must be a number, got "5"'));
    expect(() => check.int('m', 'depth', 10, 0, 9)).toThrow(new RangeError('m: depth must be an integer in [0, 9], got 10'));
    expect(() => check.u64('m', 'addr', -1n)).toThrow(new RangeError('m: addr must be a bigint in [0, 2^64 - 1], got -1n'));
    expect(() => check.u64('m', 'addr', 'x')).toThrow(new TypeError('m: addr must be a bigint, got "x"'));
    expect(() => check.obj('m', 'options', null)).toThrow(new TypeError('m: options must be an object, got null'));
    expect(() => check.optBool('m', 'early', 1, false)).toThrow(new TypeError('m: early must be a boolean, got 1'));
    expect(() => check.str('m', 'host', '')).toThrow(new TypeError('m: host must be a non-empty string, got ""'));
    expect(() => check.oneOf('m', 'type', 'UC', ['RC', 'UD'])).toThrow(new RangeError("m: type must be one of 'RC', 'UD', got \"UC\""));
    expect(() => check.oneOf('m', 'type', 3, ['RC', 'UD'])).toThrow(TypeError);
    expect(check.oneOf('m', 'type', undefined, ['RC', 'UD'], 'RC')).toBe('RC');
    expect(() => check.instance('m', 'pd', {}, Map)).toThrow(new TypeError('m: pd must be a Map, got Object'));
    expect(() => check.assertOpen(true, 'ibv_x', 'QP')).toThrow(RdmaError);
  });

  it('is the helper cm uses: bad connect/listen options read the same way', async () => {
    const pd = {} as never;
    await expect(cm.connect({ host: 'h', port: 1.5, pd, qp: {} as never })).rejects.toThrow('rdma_connect: port must be an integer in [1, 65535], got 1.5');
    await expect(cm.connect({ host: 'h', port: 1, pd, qp: {} as never, type: 'XRC' as never })).rejects.toThrow(
      "rdma_connect: type must be one of 'RC', 'UD', got \"XRC\"",
    );
    await expect(cm.listen({ port: 0, backlog: 1.5 })).rejects.toThrow('rdma_listen: backlog must be an integer in [0, 2147483647], got 1.5');
  });
});
