import { randomBytes } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { CompletionBatch, RdmaError, listDevices, openDevice, parseGid } from '../../src/index.js';
import { connectedPair, pollN, type Pair } from './helpers.js';

let pair: Pair | undefined;
afterEach(() => {
  pair?.close();
  pair = undefined;
});

describe('devices, ports, GIDs', () => {
  it('lists and opens the device and reads its attributes', () => {
    const devices = listDevices();
    expect(devices.length).toBeGreaterThan(0);
    expect(typeof devices[0]!.guid).toBe('bigint');
    using ctx = openDevice(devices[0]!.name);
    expect(ctx.name).toBe(devices[0]!.name);
    const dev = ctx.queryDevice();
    expect(dev.physPortCnt).toBeGreaterThanOrEqual(1);
    expect(dev.maxQp).toBeGreaterThan(0);
    expect(dev.maxMrSize).toBeGreaterThan(0n);
    const port = ctx.queryPort(1);
    expect(port.state).toBe('ACTIVE');
    expect([256, 512, 1024, 2048, 4096]).toContain(port.activeMtu);
  });

  it('reads the GID table with types and IPs, and picks RoCE v2 IPv4 by type', () => {
    using ctx = openDevice();
    const table = ctx.gidTable(1);
    expect(table.length).toBeGreaterThan(0);
    for (const e of table) {
      expect(e.port).toBe(1);
      expect(e.raw).toHaveLength(16);
      expect(parseGid(e.gid).equals(e.raw)).toBe(true);
    }
    if (ctx.queryPort(1).linkLayer === 'ETHERNET') {
      const gid = ctx.defaultGid(1);
      expect(gid.type).toBe('ROCE_V2');
      expect(gid.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(gid.netdev).toBeTruthy();
      if (process.env.RDMAJS_TESTBED_IP) expect(gid.ip).toBe(process.env.RDMAJS_TESTBED_IP);
    }
  });

  it('fails with ENODEV for an unknown device', () => {
    expect(() => openDevice('no-such-device')).toThrow(expect.objectContaining({ code: 'ENODEV', syscall: 'ibv_open_device' }));
  });
});

describe('RC queue pairs on one device', () => {
  it('connects through JSON endpoints and reaches RTS', () => {
    pair = connectedPair();
    expect(pair.a.state).toBe('RTS');
    const q = pair.a.query();
    expect(q.qpState).toBe('RTS');
    expect(q.destQpNum).toBe(pair.b.qpn);
    expect(q.access).toContain('REMOTE_WRITE');
  });

  it('SEND/RECV with and without immediate data, verified bytes', () => {
    pair = connectedPair();
    const { pd, a, b, cqA, cqB } = pair;
    const src = pd.allocateMemory(4096);
    const dst = pd.allocateMemory(8192, ['LOCAL_WRITE']);
    const payload = randomBytes(4096);
    payload.copy(src.buffer);

    b.postRecv([
      { id: 1n, sg: [{ mr: dst, offset: 0, length: 4096 }] },
      { id: 2n, sg: [{ mr: dst, offset: 4096, length: 4096 }] },
    ]);
    a.postSend([
      { id: 10n, opcode: 'SEND', sg: [{ mr: src, length: 1000 }] },
      { id: 11n, opcode: 'SEND_WITH_IMM', imm: 0xdeadbeef, sg: [{ mr: src }] },
    ]);
    const sent = pollN(cqA, 2);
    expect(sent.map((w) => [w.id, w.status, w.opcode])).toEqual([
      [10n, 'SUCCESS', 'SEND'],
      [11n, 'SUCCESS', 'SEND'],
    ]);
    const got = pollN(cqB, 2);
    expect(got[0]).toMatchObject({ id: 1n, status: 'SUCCESS', opcode: 'RECV', byteLen: 1000, imm: undefined, qpNum: b.qpn });
    expect(got[1]).toMatchObject({ id: 2n, status: 'SUCCESS', opcode: 'RECV', byteLen: 4096, imm: 0xdeadbeef });
    expect(dst.buffer.subarray(0, 1000).equals(payload.subarray(0, 1000))).toBe(true);
    expect(dst.buffer.subarray(4096).equals(payload)).toBe(true);
  });

  it('RDMA WRITE, WRITE_WITH_IMM and READ move exactly the bytes asked', () => {
    pair = connectedPair();
    const { pd, a, b, cqA, cqB } = pair;
    const local = pd.allocateMemory(65536, ['LOCAL_WRITE']);
    const remote = pd.allocateMemory(65536, ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ']);
    randomBytes(65536).copy(local.buffer);

    a.postSend({ id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr: local, offset: 100, length: 5000 }], remote: { ...remote.remote(), offset: 300 } });
    expect(pollN(cqA, 1)[0]).toMatchObject({ id: 1n, status: 'SUCCESS', opcode: 'RDMA_WRITE' });
    expect(remote.buffer.subarray(300, 5300).equals(local.buffer.subarray(100, 5100))).toBe(true);
    expect(remote.buffer[299]).toBe(0);
    expect(remote.buffer[5300]).toBe(0);

    // WRITE_WITH_IMM consumes a receive (which needs no SGE) and carries the imm.
    b.postRecv({ id: 7n });
    a.postSend({ id: 2n, opcode: 'RDMA_WRITE_WITH_IMM', imm: 42, sg: [{ mr: local, length: 64 }], remote: remote.remote(10000) });
    expect(pollN(cqA, 1)[0]!.status).toBe('SUCCESS');
    expect(pollN(cqB, 1)[0]).toMatchObject({ id: 7n, status: 'SUCCESS', opcode: 'RECV_RDMA_WITH_IMM', imm: 42, byteLen: 64 });
    expect(remote.buffer.subarray(10000, 10064).equals(local.buffer.subarray(0, 64))).toBe(true);

    // READ pulls remote bytes into local memory.
    randomBytes(4096).copy(remote.buffer, 20000);
    a.postSend({ id: 3n, opcode: 'RDMA_READ', sg: [{ mr: local, offset: 40000, length: 4096 }], remote: remote.remote(20000, 4096) });
    expect(pollN(cqA, 1)[0]).toMatchObject({ id: 3n, status: 'SUCCESS', opcode: 'RDMA_READ', byteLen: 4096 });
    expect(local.buffer.subarray(40000, 44096).equals(remote.buffer.subarray(20000, 24096))).toBe(true);
  });

  it('moves 1 MiB as one chain of 64 KiB RDMA WRITEs, only the last signaled', () => {
    pair = connectedPair({ cap: { maxSendWr: 32 } });
    const { pd, a, cqA } = pair;
    const size = 1 << 20;
    const chunk = 64 * 1024;
    const src = pd.allocateMemory(size);
    const dst = pd.allocateMemory(size, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    randomBytes(size).copy(src.buffer);
    const wrs = [];
    for (let off = 0; off < size; off += chunk) {
      wrs.push({
        id: BigInt(off),
        opcode: 'RDMA_WRITE' as const,
        sg: [{ mr: src, offset: off, length: chunk }],
        remote: { address: dst.address, rkey: dst.rkey, offset: off },
        signaled: off + chunk === size,
      });
    }
    expect(wrs).toHaveLength(16);
    a.postSend(wrs);
    const [wc] = pollN(cqA, 1);
    expect(wc).toMatchObject({ id: BigInt(size - chunk), status: 'SUCCESS' });
    expect(cqA.poll()).toHaveLength(0);
    expect(dst.buffer.equals(src.buffer)).toBe(true);
  });
});

describe('completions', () => {
  it('pollInto fills a reusable batch', () => {
    pair = connectedPair();
    const { pd, a, cqA } = pair;
    const mr = pd.allocateMemory(64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const batch = new CompletionBatch(8);
    a.postSend([1n, 2n, 3n].map((id) => ({ id, opcode: 'RDMA_WRITE' as const, sg: [{ mr }], remote: mr.remote() })));
    let n = 0;
    const ids: bigint[] = [];
    const until = Date.now() + 10_000;
    while (n < 3 && Date.now() < until) {
      const k = cqA.pollInto(batch);
      for (let i = 0; i < k; i++) {
        expect(batch.ok(i)).toBe(true);
        expect(batch.opcode(i)).toBe('RDMA_WRITE');
        ids.push(batch.id(i));
      }
      n += k;
    }
    expect(ids).toEqual([1n, 2n, 3n]);
    expect(batch.count).toBeLessThanOrEqual(3);
  });

  it('pollInto(batch, spinUs) spins in the addon until a completion arrives, or the bound passes', () => {
    pair = connectedPair();
    const { pd, a, cqA } = pair;
    const mr = pd.allocateMemory(64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const batch = new CompletionBatch(4);
    // Empty CQ: returns 0 only after spinning for (at least) the bound.
    const t0 = performance.now();
    expect(cqA.pollInto(batch, 20_000)).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    // One call returns the completion of a write still in progress.
    a.postSend({ id: 5n, opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() });
    expect(cqA.pollInto(batch, 5_000_000)).toBe(1);
    expect(batch.id(0)).toBe(5n);
    expect(batch.ok(0)).toBe(true);
    for (const bad of [-1, 1.5, 10_000_001, '5']) expect(() => cqA.pollInto(batch, bad as never)).toThrow(/ibv_poll_cq: spinUs/);
  });

  it('wakes through the completion channel on the event loop, without polling in between', async () => {
    pair = connectedPair();
    const { pd, a, b, cqB } = pair;
    const src = pd.allocateMemory(256);
    const dst = pd.allocateMemory(256);
    src.buffer.fill(7);
    b.postRecv({ id: 99n, sg: [{ mr: dst }] });
    // Nothing there yet: arm and sleep. The send happens later, from a timer.
    expect(cqB.poll()).toHaveLength(0);
    const waiting = cqB.wait({ timeoutMs: 20_000 });
    setTimeout(() => a.postSend({ id: 1n, sg: [{ mr: src }] }), 50);
    await waiting;
    const wc = await cqB.next({ timeoutMs: 20_000 });
    expect(wc).toMatchObject({ id: 99n, status: 'SUCCESS', byteLen: 256 });
    expect(dst.buffer.every((x) => x === 7)).toBe(true);
  });

  it('armInto arms and polls in one call: a completion before arming is returned, none is missed after', async () => {
    pair = connectedPair();
    const { pd, a, cqA, ctx } = pair;
    const mr = pd.allocateMemory(64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const batch = new CompletionBatch(4);
    // Already completed before arming: armInto returns it (no event would come).
    a.postSend({ id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() });
    await new Promise((r) => setTimeout(r, 200)); // a loopback WRITE is done by then
    expect(cqA.armInto(batch)).toBe(1);
    expect(batch.id(0)).toBe(1n);
    // Empty: 0, and armed, so the next completion wakes wait().
    expect(cqA.armInto(batch)).toBe(0);
    const woke = cqA.wait({ timeoutMs: 20_000 });
    setTimeout(() => a.postSend({ id: 2n, opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() }), 20);
    await woke;
    expect(cqA.pollInto(batch, 5_000_000)).toBe(1);
    expect(batch.id(0)).toBe(2n);
    expect(() => cqA.armInto({} as never)).toThrow(TypeError);
    const plain = ctx.createCq({ entries: 4 });
    expect(() => plain.armInto(batch)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'ibv_req_notify_cq' }));
    plain.close();
    expect(() => plain.armInto(batch)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('onWake calls its listener per completion event once armed, keeps no Promise, and hears the close', async () => {
    pair = connectedPair();
    const { pd, a, cqA, ctx } = pair;
    const mr = pd.allocateMemory(64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const batch = new CompletionBatch(4);
    const ids: bigint[] = [];
    let wakes = 0;
    let closedErr: unknown;
    let done: () => void = () => {};
    const gotTwo = new Promise<void>((r) => (done = r));
    const progress = () => {
      wakes++;
      try {
        for (;;) {
          let n = cqA.pollInto(batch);
          if (n === 0) n = cqA.armInto(batch);
          if (n === 0) return;
          for (let i = 0; i < n; i++) ids.push(batch.id(i));
          if (ids.length === 2) done();
        }
      } catch (err) {
        closedErr = err;
      }
    };
    cqA.onWake(progress);
    expect(cqA.armInto(batch)).toBe(0);
    a.postSend({ id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() });
    setTimeout(() => a.postSend({ id: 2n, opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() }), 50);
    const timeout = setTimeout(done, 20_000);
    await gotTwo;
    clearTimeout(timeout);
    expect(ids).toEqual([1n, 2n]);
    expect(wakes).toBeGreaterThanOrEqual(1);
    // Bad listeners and channel-less CQs are refused; removing is always allowed.
    expect(() => cqA.onWake(42 as never)).toThrow(TypeError);
    const plain = ctx.createCq({ entries: 4 });
    expect(() => plain.onWake(() => {})).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'CompletionQueue.onWake' }));
    plain.onWake(undefined);
    plain.close();
    // Closing the CQ calls the listener once more (not inside close()); its poll sees EBADF.
    const before = wakes;
    cqA.close();
    expect(wakes).toBe(before);
    await new Promise((r) => setImmediate(r));
    expect(wakes).toBe(before + 1);
    expect(closedErr).toMatchObject({ code: 'EBADF' });
    cqA.onWake(undefined);
    expect(() => cqA.onWake(() => {})).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('next() takes one completion and leaves the rest; concurrent next() calls each get their own', async () => {
    pair = connectedPair();
    const { pd, a, cqA } = pair;
    const mr = pd.allocateMemory(64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const write = (id: bigint) => ({ id, opcode: 'RDMA_WRITE' as const, sg: [{ mr }], remote: mr.remote() });
    a.postSend([write(1n), write(2n)]);
    expect((await cqA.next({ timeoutMs: 20_000 })).id).toBe(1n);
    expect((await cqA.next({ timeoutMs: 20_000 })).id).toBe(2n);
    const waiting = Promise.all([cqA.next({ timeoutMs: 20_000 }), cqA.next({ timeoutMs: 20_000 }), cqA.next({ timeoutMs: 20_000 })]);
    setTimeout(() => a.postSend([write(3n), write(4n), write(5n)]), 20);
    expect((await waiting).map((w) => w.id).sort()).toEqual([3n, 4n, 5n]);
  });

  it('async-iterates completions', async () => {
    pair = connectedPair();
    const { pd, a, cqA } = pair;
    const mr = pd.allocateMemory(64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const seen: bigint[] = [];
    setTimeout(() => {
      for (let i = 0; i < 5; i++) a.postSend({ id: BigInt(i), opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() });
    }, 20);
    for await (const wc of cqA.completions({ timeoutMs: 20_000 })) {
      expect(wc.ok).toBe(true);
      seen.push(wc.id);
      if (seen.length === 5) break;
    }
    expect(seen).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('times out a wait with ETIMEDOUT and rejects waiters with EBADF when the device closes', async () => {
    pair = connectedPair();
    await expect(pair.cqA.wait({ timeoutMs: 50 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const pending = pair.cqB.next();
    pair.ctx.close();
    await expect(pending).rejects.toMatchObject({ code: 'EBADF' });
  });
});

describe('errors', () => {
  it('a bad rkey gives a REM_ACCESS_ERR completion and moves the QP to ERR', () => {
    pair = connectedPair();
    const { pd, a, cqA } = pair;
    const mr = pd.allocateMemory(64);
    const target = pd.allocateMemory(64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    a.postSend({ id: 5n, opcode: 'RDMA_WRITE', sg: [{ mr }], remote: { address: target.address, rkey: (target.rkey ^ 0x5a5a) >>> 0 } });
    const [wc] = pollN(cqA, 1, 30_000);
    expect(wc).toMatchObject({ id: 5n, status: 'REM_ACCESS_ERR', ok: false });
    expect(a.query().qpState).toBe('ERR');
    // Further sends are flushed, not lost.
    a.postSend({ id: 6n, sg: [{ mr }] });
    expect(pollN(cqA, 1)[0]).toMatchObject({ id: 6n, status: 'WR_FLUSH_ERR' });
  });

  it('posting on a QP in RESET throws EINVAL naming the verb', () => {
    using ctx = openDevice();
    const pd = ctx.allocPd();
    const cq = ctx.createCq();
    const qp = pd.createQp({ sendCq: cq });
    const mr = pd.allocateMemory(64);
    expect(qp.state).toBe('RESET');
    let err: unknown;
    try {
      qp.postSend({ sg: [{ mr }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RdmaError);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'ibv_post_send' });
    expect(() => qp.postRecv({ sg: [{ mr }] })).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'ibv_post_recv' }));
  });

  it('use after close throws EBADF; close twice is harmless; closing a parent closes children first', () => {
    const ctx = openDevice();
    const pd = ctx.allocPd();
    const ch = ctx.createCompletionChannel();
    const cq = ctx.createCq({ channel: ch });
    const qp = pd.createQp({ sendCq: cq });
    const mr = pd.allocateMemory(64);

    mr.close();
    mr.close();
    expect(mr.closed).toBe(true);
    expect(() => qp.toInit()).not.toThrow();
    expect(() => qp.postRecv({ sg: [{ mr }] })).toThrow(/closed/);

    pd.close();
    expect(qp.closed).toBe(true);
    expect(() => qp.postSend({})).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'ibv_post_send' }));
    expect(() => qp.postSend([])).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'ibv_post_send' }));
    expect(() => qp.postRecv([])).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'ibv_post_recv' }));
    expect(() => pd.allocateMemory(64)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'ibv_reg_mr' }));
    expect(cq.closed).toBe(false);

    ctx.close();
    ctx.close();
    expect(cq.closed).toBe(true);
    expect(ch.closed).toBe(true);
    expect(() => cq.poll()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => ctx.queryDevice()).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'ibv_query_device' }));
    expect(() => ctx.allocPd()).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
