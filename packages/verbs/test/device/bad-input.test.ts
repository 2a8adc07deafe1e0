// Throws wrong values at every function delivered so far, through the public
// API and straight at the native addon, and checks that each one comes back
// as a JS error (never a crash) of the expected kind.
import { afterAll, describe, expect, it } from 'vitest';

import { CompletionBatch, RdmaError, openDevice } from '../../src/index.js';
import { nativeHandle } from '../../src/internal.js';
import { native } from '../../src/native.js';

const BAD: unknown[] = [
  undefined,
  null,
  -1,
  1.5,
  NaN,
  Infinity,
  2 ** 53,
  -(2 ** 31),
  'x',
  '',
  {},
  [],
  [1, 2],
  () => 0,
  Symbol('s'),
  10n,
  -1n,
  2n ** 70n,
  new Uint8Array(3),
  new ArrayBuffer(0),
  true,
];

function expectJsError(fn: () => unknown): void {
  let threw: unknown;
  try {
    fn();
  } catch (err) {
    threw = err;
  }
  if (threw === undefined) return; // some bad-looking values are valid (e.g. undefined -> default)
  expect(threw instanceof TypeError || threw instanceof RangeError || threw instanceof RdmaError).toBe(true);
  expect(String((threw as Error).message)).toMatch(/\S/);
}

describe('bad input never crashes', () => {
  const ctx = openDevice();
  const pd = ctx.allocPd();
  const ch = ctx.createCompletionChannel();
  const cq = ctx.createCq({ channel: ch });
  const qp = pd.createQp({ sendCq: cq, cap: { maxInlineData: 64 } });
  const mr = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ', 'REMOTE_ATOMIC']);
  const srq = pd.createSrq({ maxWr: 8 });
  const mw = pd.allocMw();
  const otherPd = ctx.allocPd();
  const otherMr = otherPd.allocateMemory(64);
  afterAll(() => ctx.close());

  it('public API: every argument of every method', () => {
    let calls = 0;
    const run = (fn: () => unknown) => {
      calls++;
      expectJsError(fn);
    };
    for (const v of BAD) {
      const x = v as never;
      run(() => openDevice(x));
      run(() => ctx.queryPort(x));
      run(() => ctx.gidTable(x));
      run(() => ctx.defaultGid(x));
      run(() => ctx.createCq(x));
      run(() => ctx.createCq({ entries: x }));
      run(() => ctx.createCq({ channel: x }));
      run(() => ctx.createCq({ compVector: x }));
      run(() => pd.registerMemory(x));
      run(() => pd.registerMemory(Buffer.alloc(16), x));
      run(() => pd.registerMemory(Buffer.alloc(16), [x]));
      run(() => pd.registerMemory(Buffer.alloc(16), ['LOCAL_WRITE'], x));
      run(() => pd.allocateMemory(x));
      run(() => pd.createQp(x));
      run(() => pd.createQp({ sendCq: x }));
      run(() => pd.createQp({ sendCq: cq, recvCq: x }));
      run(() => pd.createQp({ sendCq: cq, type: x }));
      run(() => pd.createQp({ sendCq: cq, cap: x }));
      run(() => pd.createQp({ sendCq: cq, cap: { maxSendWr: x } }));
      run(() => pd.createQp({ sendCq: cq, cap: { maxSendSge: x } }));
      run(() => cq.poll(x));
      run(() => cq.pollInto(x));
      run(() => new CompletionBatch(x));
      run(() => mr.remote(x));
      run(() => mr.remote(0, x));
      run(() => qp.endpoint(x));
      run(() => qp.endpoint({ port: x }));
      run(() => qp.endpoint({ gidIndex: x }));
      run(() => qp.modify(x));
      run(() => qp.modify({ qpState: x }));
      run(() => qp.modify({ pathMtu: x }));
      run(() => qp.modify({ access: x }));
      run(() => qp.modify({ ahAttr: x }));
      run(() => qp.modify({ ahAttr: { grh: { dgid: x } } }));
      run(() => qp.modify({ destQpNum: x, qpState: 'RESET' }));
      run(() => qp.connect(x));
      run(() => qp.connect({ qpn: x, psn: 1, gid: '::1', lid: 0, port: 1, mtu: 1024 }));
      run(() => qp.connect({ qpn: 1, psn: 1, gid: x, lid: 0, port: 1, mtu: 1024 }));
      run(() => qp.connect({ qpn: 1, psn: 1, gid: '::1', lid: 0, port: 1, mtu: x }));
      run(() => qp.postSend(x));
      run(() => qp.postRecv(x));
      run(() => qp.postRecv([x]));
      run(() => qp.postRecv({ id: x }));
      run(() => qp.postRecv({ sg: x }));
      run(() => qp.postRecv({ sg: [x] }));
      run(() => qp.postRecv({ sg: [{ mr: x }] }));
      run(() => qp.postRecv({ sg: [{ mr, offset: x }] }));
      run(() => qp.postRecv({ sg: [{ mr, length: x }] }));
      run(() => pd.createSrq(x));
      run(() => pd.createSrq({ maxWr: x }));
      run(() => pd.createSrq({ maxSge: x }));
      run(() => srq.postRecv(x));
      run(() => srq.postRecv({ sg: [{ mr: x }] }));
      run(() => srq.modify(x));
      run(() => srq.modify({ srqLimit: x }));
      run(() => pd.createAh(x));
      run(() => pd.createAh({ dlid: x }));
      run(() => pd.createAh({ grh: { dgid: x } }));
      run(() => pd.createAh({ qpn: x, psn: 0, gid: '::1', lid: 0, port: 1, mtu: 1024 }));
      run(() => pd.createQp({ sendCq: cq, srq: x }));
      run(() => pd.createQp({ type: 'UD', sendCq: cq }).activate(x));
      run(() => pd.createQp({ type: 'UD', sendCq: cq }).activate({ qkey: x }));
      run(() => mw.bind(x, { mr, access: ['REMOTE_WRITE'] }));
      run(() => mw.bind(qp, x));
      run(() => mw.bind(qp, { mr: x, access: ['REMOTE_WRITE'] }));
      run(() => mw.bind(qp, { mr, access: x }));
      run(() => mw.bind(qp, { mr, access: ['REMOTE_WRITE'], offset: x }));
      run(() => mw.bind(qp, { mr, access: ['REMOTE_WRITE'], length: x }));
      run(() => mw.bind(qp, { mr, access: ['REMOTE_WRITE'], id: x }));
      run(() => mw.invalidate(x));
    }
    expect(calls).toBeGreaterThan(1300);
  });

  it('public API: mismatched objects, too many SGEs, too-small buffers, wrong state', () => {
    qp.modify({ qpState: 'RESET' });
    qp.toInit();
    expect(() => qp.postRecv({ sg: [{ mr: otherMr }] })).toThrow(/another protection domain/);
    expect(() => qp.postRecv({ sg: [{ mr }, { mr }] })).toThrow(RangeError);
    expect(() => qp.postRecv({ sg: [{ mr, offset: 4000, length: 200 }] })).toThrow(RangeError);
    expect(() => qp.postRecv(Array.from({ length: 100_000 }, () => ({ sg: [{ mr }] })))).toThrow(RangeError);
    expect(() => qp.postSend({ sg: [{ mr }] })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const otherCtx = openDevice();
    try {
      const foreignCq = otherCtx.createCq();
      expect(() => pd.createQp({ sendCq: foreignCq })).toThrow(/another device context/);
    } finally {
      otherCtx.close();
    }
    // Huge requests are refused by the device, as RdmaErrors.
    expect(() => ctx.createCq({ entries: 0x7fffffff })).toThrow(RdmaError);
    expect(() => pd.registerMemory(Buffer.from('pooled'))).toThrow(/shared Buffer pool/);
    const resizable = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(64, { maxByteLength: 128 });
    expect(() => pd.registerMemory(resizable)).toThrow(/resizable/);
    const detached = new ArrayBuffer(64);
    structuredClone(detached, { transfer: [detached] });
    expect(() => pd.registerMemory(detached)).toThrow(TypeError);
  });

  it('send-side checks: opcodes, remote targets, immediates, atomics, inline', () => {
    const peer = pd.createQp({ sendCq: cq, cap: { maxInlineData: 64 } });
    qp.modify({ qpState: 'RESET' });
    qp.connect(peer.endpoint());
    peer.connect(qp.endpoint());
    const bad = [
      { opcode: 'NOPE' },
      { opcode: 'RDMA_WRITE', sg: [{ mr }] },
      { opcode: 'RDMA_WRITE', sg: [{ mr }], remote: { address: -1n, rkey: 1 } },
      { opcode: 'RDMA_WRITE', sg: [{ mr }], remote: { address: 1n, rkey: -1 } },
      { opcode: 'RDMA_WRITE', sg: [{ mr }], remote: { address: 1n, rkey: 1, offset: -5 } },
      { opcode: 'SEND_WITH_IMM', sg: [{ mr }] },
      { opcode: 'SEND', imm: 5, sg: [{ mr }] },
      { opcode: 'SEND_WITH_IMM', imm: 2 ** 32, sg: [{ mr }] },
      { opcode: 'ATOMIC_FETCH_AND_ADD', sg: [{ mr, length: 8 }], remote: { address: mr.address + 3n, rkey: mr.rkey } },
      { opcode: 'ATOMIC_FETCH_AND_ADD', sg: [{ mr, length: 16 }], remote: mr.remote() },
      { opcode: 'SEND', inline: true, sg: [{ mr, length: 1000 }] },
      { opcode: 'SEND', id: -1n, sg: [{ mr }] },
      { opcode: 'SEND', id: 1, sg: [{ mr }] },
    ];
    for (const wr of bad) expect(() => qp.postSend(wr as never), JSON.stringify(wr, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).toThrow();
    // A list is validated whole before anything is posted.
    expect(() => qp.postSend([{ sg: [{ mr, length: 1 }] }, { opcode: 'NOPE' as never }])).toThrow(RangeError);
    expect(cq.poll()).toHaveLength(0);
  });

  it('native addon: garbage straight at every entry point', () => {
    const N = native as unknown as Record<string, new (...a: unknown[]) => Record<string, (...a: unknown[]) => unknown>>;
    let calls = 0;
    const run = (fn: () => unknown) => {
      calls++;
      expectJsError(fn);
    };
    const nq = nativeHandle(qp) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const ncq = nativeHandle(cq) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const nctx = nativeHandle(ctx) as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const v of BAD) {
      run(() => new N.Context!(v));
      run(() => new N.ProtectionDomain!(v));
      run(() => new N.ProtectionDomain!(nativeHandle(pd)));
      run(() => new N.MemoryRegion!(v, Buffer.alloc(8), 1));
      run(() => new N.MemoryRegion!(nativeHandle(pd), v, 1));
      run(() => new N.MemoryRegion!(nativeHandle(pd), Buffer.alloc(8), v));
      run(() => new N.CompletionChannel!(v));
      run(() => new N.CompletionQueue!(nativeHandle(ctx), v, null, 0));
      run(() => new N.CompletionQueue!(v, 1, null, 0));
      run(() => new N.CompletionQueue!(nativeHandle(ctx), 1, v, 0));
      run(() => new N.QueuePair!(nativeHandle(pd), v));
      run(() => new N.QueuePair!(nativeHandle(pd), { sendCq: v, recvCq: nativeHandle(cq) }));
      run(() => new N.QueuePair!(nativeHandle(pd), { sendCq: nativeHandle(cq), recvCq: nativeHandle(cq), type: v }));
      run(() => nctx.queryPort!(v));
      run(() => nctx.queryGidTable!(v));
      run(() => ncq.bindBatch!(v, new Uint32Array(12)));
      run(() => ncq.bindBatch!(new BigUint64Array(1), v));
      run(() => ncq.poll!(v));
      run(() => ncq.requestNotify!(v));
      run(() => ncq.setHandler!(v));
      run(() => nq.modify!(v));
      run(() => nq.modify!({ qpState: v }));
      run(() => nq.modify!({ ahAttr: { grh: { dgid: v } } }));
      run(() => nq.postSend!(v));
      run(() => nq.postRecv!(v));
      run(() => nq.bindDescriptors!(v, v));
      run(() => ncq.poll!(1, v));
      run(() => ncq.arm!(v));
      run(() => nq.postSend!(1, v));
      run(() => nq.bindSendBank!(v));
      run(() => nq.unbindSendBank!(v));
    }
    // Prepared-set banks: ids that were never bound, or were unbound, are refused.
    run(() => nq.postSend!(1, 99));
    run(() => nq.unbindSendBank!(0)); // the QP's own descriptors cannot be unbound
    run(() => nq.bindSendBank!(new ArrayBuffer(0)));
    // A rebound, tiny descriptor buffer: counts past it are refused.
    const tiny = pd.createQp({ sendCq: cq });
    const nt = nativeHandle(tiny) as unknown as Record<string, (...a: unknown[]) => unknown>;
    nt.bindDescriptors!(new ArrayBuffer(8), new ArrayBuffer(8));
    run(() => nt.postSend!(1));
    run(() => nt.postRecv!(1));
    expect(calls).toBeGreaterThan(500);
  });
});
