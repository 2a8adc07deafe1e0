// RegistrationCache on the real device: hits and misses, registerOnUse, LRU
// eviction under both bounds, pinning (acquired or in-flight regions are
// never evicted), buffers that must not be registered, close and PD-close
// semantics, and an RDMA READ through cached registrations moving real data.
import { randomBytes } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { RdmaError, RegistrationCache, openDevice, type Context, type ProtectionDomain } from '../../src/index.js';
import { connectedPair, pollN, type Pair } from './helpers.js';

let pair: Pair | undefined;
let ctx: Context | undefined;
afterEach(() => {
  pair?.close();
  ctx?.close();
  pair = undefined;
  ctx = undefined;
});

function openPd(): ProtectionDomain {
  ctx = openDevice();
  return ctx.allocPd();
}

const slow = (n: number) => Buffer.allocUnsafeSlow(n);

describe('RegistrationCache', () => {
  it('registers the whole ArrayBuffer once; every view of it hits, with its own offset', () => {
    const pd = openPd();
    const cache = new RegistrationCache(pd);
    expect(cache.access).toEqual(['LOCAL_WRITE']);
    const buf = slow(65536);
    const r1 = cache.acquire(buf)!;
    expect(r1).toBeDefined();
    expect(r1.offset).toBe(0);
    expect(r1.mr.length).toBe(65536);
    expect(r1.mr.access).toEqual(['LOCAL_WRITE']);
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(65536);

    // A hit at offset 0 hands out the same (frozen) object: no allocation.
    const r2 = cache.acquire(buf)!;
    expect(r2).toBe(r1);
    expect(Object.isFrozen(r2)).toBe(true);
    const r3 = cache.acquire(buf.subarray(4096, 8192))!;
    expect(r3.mr).toBe(r1.mr);
    expect(r3.offset).toBe(4096);
    const r4 = cache.acquire(new Float64Array(buf.buffer, 800, 10))!;
    expect(r4).toMatchObject({ mr: r1.mr, offset: 800 });
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(65536);

    // A different ArrayBuffer is a different region.
    const other = cache.acquire(new Uint8Array(1000))!;
    expect(other.mr).not.toBe(r1.mr);
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBe(66536);
    for (const r of [r1, r2, r3, r4, other]) cache.release(r);
    // Released regions stay cached (idle), still registered.
    expect(cache.size).toBe(2);
    expect(r1.mr.closed).toBe(false);
    cache.close();
    expect(r1.mr.closed).toBe(true);
    expect(other.mr.closed).toBe(true);
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('registerOnUse: an ArrayBuffer is registered the Nth time it is acquired, and again at once after eviction', () => {
    const pd = openPd();
    const cache = new RegistrationCache(pd, { registerOnUse: 3, maxEntries: 1 });
    const a = slow(4096);
    expect(cache.acquire(a)).toBeUndefined();
    expect(cache.acquire(a.subarray(10))).toBeUndefined(); // any view counts for its ArrayBuffer
    const ra = cache.acquire(a)!;
    expect(ra).toBeDefined();
    expect(cache.acquire(a)).toBe(ra); // a hit
    cache.release(ra);
    cache.release(ra);

    // b evicts a (maxEntries 1) once b's count is reached...
    const b = slow(4096);
    expect(cache.acquire(b)).toBeUndefined();
    expect(cache.acquire(b)).toBeUndefined();
    const rb = cache.acquire(b)!;
    expect(rb.mr).not.toBe(ra.mr);
    expect(ra.mr.closed).toBe(true);
    cache.release(rb);
    // ...and a, wanted again, registers at its first acquisition since.
    const ra2 = cache.acquire(a)!;
    expect(ra2).toBeDefined();
    expect(ra2.mr).not.toBe(ra.mr);
    expect(rb.mr.closed).toBe(true);
    cache.release(ra2);
    cache.close();
  });

  it('evicts the least recently used idle region under maxEntries', () => {
    const pd = openPd();
    const cache = new RegistrationCache(pd, { maxEntries: 2 });
    const [a, b, c] = [slow(4096), slow(4096), slow(4096)];
    const ra = cache.acquire(a)!;
    const rb = cache.acquire(b)!;
    cache.release(ra);
    cache.release(rb);
    cache.release(cache.acquire(a)!); // a is now the most recently used
    const rc = cache.acquire(c)!;
    expect(rc).toBeDefined();
    expect(rb.mr.closed).toBe(true); // b was the LRU one
    expect(ra.mr.closed).toBe(false);
    expect(cache.size).toBe(2);
    expect(cache.acquire(a)!.mr).toBe(ra.mr);
    cache.close();
  });

  it('evicts idle regions, least recently used first, until the bytes fit under maxBytes', () => {
    const pd = openPd();
    const cache = new RegistrationCache(pd, { maxBytes: 16384 });
    expect(cache.maxRegion).toBe(16384);
    const a = slow(8192);
    const b = slow(4096);
    const c = slow(4096);
    const [ra, rb, rc] = [cache.acquire(a)!, cache.acquire(b)!, cache.acquire(c)!];
    expect(cache.bytes).toBe(16384);
    for (const r of [ra, rb, rc]) cache.release(r);
    cache.release(cache.acquire(a)!); // order now b, c, a
    const rd = cache.acquire(slow(8192))!; // needs 8192: b and c go, a stays
    expect(rd).toBeDefined();
    expect(rb.mr.closed).toBe(true);
    expect(rc.mr.closed).toBe(true);
    expect(ra.mr.closed).toBe(false);
    expect(cache.bytes).toBe(16384);
    expect(cache.size).toBe(2);
    // Larger than maxBytes (or maxRegion): never registered, nothing evicted.
    expect(cache.acquire(slow(16385))).toBeUndefined();
    expect(ra.mr.closed).toBe(false);
    cache.release(rd);
    cache.close();
  });

  it('never evicts an acquired region: a new buffer gets undefined until a release makes room', () => {
    const pd = openPd();
    const cache = new RegistrationCache(pd, { maxEntries: 1 });
    const ra = cache.acquire(slow(4096))!;
    const b = slow(4096);
    expect(cache.acquire(b)).toBeUndefined();
    expect(ra.mr.closed).toBe(false);
    cache.release(ra);
    const rb = cache.acquire(b)!;
    expect(rb).toBeDefined();
    expect(ra.mr.closed).toBe(true);
    cache.release(rb);
    cache.close();
  });

  it('never evicts a region work requests still use, even when released early', () => {
    pair = connectedPair();
    const { pd, a, b, cqA, cqB } = pair;
    const cache = new RegistrationCache(pd, { maxEntries: 1 });
    const src = randomBytes(4096);
    const dst = pd.allocateMemory(4096, ['LOCAL_WRITE']);
    const reg = cache.acquire(src)!;
    b.postRecv({ id: 7n, sg: [{ mr: dst }] });
    a.postSend({ id: 1n, opcode: 'SEND', sg: [{ mr: reg.mr, offset: reg.offset, length: 4096 }] });
    cache.release(reg); // too early: the completion is not polled yet
    expect(reg.mr.inflight).toBe(1);
    expect(cache.acquire(slow(4096))).toBeUndefined();
    expect(reg.mr.closed).toBe(false);
    expect(pollN(cqA, 1)[0]).toMatchObject({ id: 1n, status: 'SUCCESS' });
    expect(pollN(cqB, 1)[0]).toMatchObject({ id: 7n, status: 'SUCCESS', byteLen: 4096 });
    expect(dst.buffer.equals(src)).toBe(true);
    expect(reg.mr.inflight).toBe(0);
    const other = cache.acquire(slow(4096))!;
    expect(other).toBeDefined();
    expect(reg.mr.closed).toBe(true);
    cache.release(other);
    cache.close();
  });

  it('returns undefined, never throws, for memory it must not or cannot register', () => {
    const pd = openPd();
    const cache = new RegistrationCache(pd, { maxRegion: 1 << 20 });
    // Detached before registration.
    const ab = new ArrayBuffer(4096);
    const view = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    expect(ab.byteLength).toBe(0);
    expect(cache.acquire(view)).toBeUndefined();
    // Detached after registration: the region keeps the memory; the view is empty.
    const ab2 = new ArrayBuffer(4096);
    const view2 = new Uint8Array(ab2);
    const r2 = cache.acquire(view2)!;
    cache.release(r2);
    structuredClone(ab2, { transfer: [ab2] });
    expect(cache.acquire(view2)).toBeUndefined();
    expect(r2.mr.closed).toBe(false);
    // Empty, resizable, growable.
    expect(cache.acquire(new Uint8Array(0))).toBeUndefined();
    const resizable = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(4096, { maxByteLength: 8192 });
    expect(cache.acquire(new Uint8Array(resizable))).toBeUndefined();
    const growable = new (SharedArrayBuffer as unknown as new (n: number, o: object) => SharedArrayBuffer)(4096, { maxByteLength: 8192 });
    expect(cache.acquire(new Uint8Array(growable))).toBeUndefined();
    // A slice of Node's shared Buffer pool: other Buffers share that memory.
    const pooled = Buffer.from('pooled bytes');
    expect(pooled.buffer.byteLength).toBe(Buffer.poolSize);
    expect(cache.acquire(pooled)).toBeUndefined();
    // Larger than maxRegion.
    expect(cache.acquire(slow((1 << 20) + 1))).toBeUndefined();
    // A fixed SharedArrayBuffer is fine.
    const shared = cache.acquire(new Int32Array(new SharedArrayBuffer(4096), 64))!;
    expect(shared).toMatchObject({ offset: 64 });
    cache.release(shared);
    expect(cache.size).toBe(2);
    cache.close();
  });

  it('throws TypeError/RangeError for bad arguments', () => {
    const pd = openPd();
    expect(() => new RegistrationCache({} as ProtectionDomain)).toThrow(TypeError);
    expect(() => new RegistrationCache(pd, null as never)).toThrow(TypeError);
    expect(() => new RegistrationCache(pd, { maxEntries: 0 })).toThrow(RangeError);
    expect(() => new RegistrationCache(pd, { maxBytes: 1.5 })).toThrow(RangeError);
    expect(() => new RegistrationCache(pd, { registerOnUse: '2' as never })).toThrow(TypeError);
    expect(() => new RegistrationCache(pd, { access: ['REMOTE_WRITE'] })).toThrow(/need LOCAL_WRITE/);
    expect(() => new RegistrationCache(pd, { access: ['BOGUS' as never] })).toThrow(RangeError);
    expect(() => new RegistrationCache(pd, { access: 'REMOTE_READ' as never })).toThrow(TypeError);

    const cache = new RegistrationCache(pd, { access: [] });
    expect(cache.access).toEqual([]);
    expect(() => cache.acquire(new ArrayBuffer(8) as never)).toThrow(TypeError);
    expect(() => cache.acquire(null as never)).toThrow(TypeError);
    expect(() => cache.release({} as never)).toThrow(TypeError);
    const reg = cache.acquire(slow(4096))!;
    expect(reg.mr.access).toEqual([]);
    cache.release(reg);
    expect(() => cache.release(reg)).toThrow(RangeError); // released twice
    const foreign = pd.allocateMemory(64);
    expect(() => cache.release({ mr: foreign, offset: 0 })).toThrow(RangeError);
    const other = new RegistrationCache(pd);
    const otherReg = other.acquire(slow(64))!;
    expect(() => cache.release(otherReg)).toThrow(RangeError);
    other.release(otherReg);
    other.close();
    cache.close();
  });

  it('close() deregisters idle regions at once and acquired ones on release; acquire then throws EBADF', () => {
    const pd = openPd();
    const cache = new RegistrationCache(pd);
    const held = cache.acquire(slow(4096))!;
    const idle = cache.acquire(slow(8192))!;
    cache.release(idle);
    cache.close();
    expect(cache.closed).toBe(true);
    expect(idle.mr.closed).toBe(true);
    expect(held.mr.closed).toBe(false); // the caller's work requests may still use it
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(4096);
    let err: unknown;
    try {
      cache.acquire(slow(64));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RdmaError);
    expect(err).toMatchObject({ code: 'EBADF', syscall: 'RegistrationCache.acquire' });
    cache.release(held);
    expect(held.mr.closed).toBe(true);
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
    cache.close(); // twice: harmless
    let r: ReturnType<RegistrationCache['acquire']>;
    {
      using c2 = new RegistrationCache(pd);
      r = c2.acquire(slow(64))!;
      c2.release(r);
      expect(r.mr.closed).toBe(false);
    }
    expect(r!.mr.closed).toBe(true); // disposed at the end of the block
    expect(pd.closed).toBe(false);
  });

  it('closing the PD with a live cache is safe: its regions close, the cache behaves as closed', () => {
    const pd = openPd();
    const cache = new RegistrationCache(pd);
    const held = cache.acquire(slow(4096))!;
    const idle = cache.acquire(slow(4096))!;
    cache.release(idle);
    pd.close();
    expect(held.mr.closed).toBe(true);
    expect(idle.mr.closed).toBe(true);
    expect(cache.closed).toBe(true);
    expect(() => cache.acquire(slow(64))).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(cache.size).toBe(1); // the held one, until released
    cache.release(held);
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
    cache.close();
    expect(() => new RegistrationCache(pd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('RDMA READ: the reader reads a cached send buffer into a cached receive buffer', () => {
    pair = connectedPair();
    const { pd, a, cqA } = pair;
    // Rendezvous: b's send buffers readable by the peer; a's receive buffers as READ targets.
    const sendCache = new RegistrationCache(pd, { access: ['REMOTE_READ'] });
    const recvCache = new RegistrationCache(pd, { access: ['LOCAL_WRITE'] });
    const src = randomBytes(1 << 20);
    const dst = Buffer.alloc(1 << 20);
    const len = 300_000;
    for (let round = 0; round < 3; round++) {
      const from = 4096 * (round + 1);
      const to = 1000 * round;
      const s = sendCache.acquire(src.subarray(from, from + len))!;
      const d = recvCache.acquire(dst.subarray(to, to + len))!;
      expect(s.offset).toBe(src.byteOffset + from);
      expect(d.offset).toBe(dst.byteOffset + to);
      const remote = JSON.parse(JSON.stringify(s.mr.remote(s.offset, len), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      a.postSend({
        id: BigInt(round),
        opcode: 'RDMA_READ',
        sg: [{ mr: d.mr, offset: d.offset, length: len }],
        remote: { address: BigInt(remote.address), rkey: remote.rkey },
      });
      expect(pollN(cqA, 1)[0]).toMatchObject({ id: BigInt(round), status: 'SUCCESS', opcode: 'RDMA_READ' });
      expect(dst.subarray(to, to + len).equals(src.subarray(from, from + len))).toBe(true);
      sendCache.release(s);
      recvCache.release(d);
    }
    // One registration per buffer for all three rounds.
    expect(sendCache.size).toBe(1);
    expect(recvCache.size).toBe(1);
    sendCache.close();
    recvCache.close();
  });
});
