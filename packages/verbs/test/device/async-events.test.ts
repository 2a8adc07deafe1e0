// Async device events on the real device. What rxe (Linux 6.1) raises, and
// how each test provokes it:
//   SQ_DRAINED         an RTS QP moved to SQD (the requester reports the drain)
//   SRQ_LIMIT_REACHED  an SRQ armed with srqLimit consumed below the limit
//   CQ_ERR             a 1-entry CQ overflowed by unpolled completions
//   PORT_ERR/_ACTIVE   the device's netdev taken down and up (testbed VM only)
// rxe 6.1 raises no QP_FATAL / QP_ACCESS_ERR / QP_LAST_WQE_REACHED (newer
// kernels do for bad rkeys); the bad-rkey test accepts either.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import {
  openDevice,
  type AsyncEvent,
  type CompletionQueue,
  type Context,
  type ProtectionDomain,
  type SharedReceiveQueue,
} from '../../src/index.js';
import { connectedPair, pollN, type Pair } from './helpers.js';

const verbs = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first event matching `pred`; rejects after `ms`. */
function nextEvent(ctx: Context, pred: (e: AsyncEvent) => boolean, ms = 5_000): Promise<AsyncEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ctx.off('event', on);
      reject(new Error(`no matching async event within ${ms} ms`));
    }, ms);
    const on = (e: AsyncEvent) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      ctx.off('event', on);
      resolve(e);
    };
    ctx.on('event', on);
  });
}

/** Two connected RC QPs on one PD; `b` may receive from an SRQ. */
function loopback(pd: ProtectionDomain, cqA: CompletionQueue, cqB: CompletionQueue, srq?: SharedReceiveQueue) {
  const a = pd.createQp({ sendCq: cqA });
  const b = pd.createQp({ sendCq: cqB, srq });
  const epA = a.endpoint();
  const epB = b.endpoint();
  return { a: a.connect(epB), b: b.connect(epA) };
}

/** Collects every event of `ctx` from now on. */
function record(ctx: Context): AsyncEvent[] {
  const seen: AsyncEvent[] = [];
  ctx.on('event', (e) => seen.push(e));
  return seen;
}

function runChild(code: string): { status: number | null; signal: string | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, signal: r.signal, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

const CHILD_SETUP = `
import * as v from ${JSON.stringify(verbs)};
const ctx = v.openDevice();
const pd = ctx.allocPd();
const cq = ctx.createCq();
const a = pd.createQp({ sendCq: cq });
const b = pd.createQp({ sendCq: cq });
a.connect(b.endpoint()); b.connect(a.endpoint());
`;

let pair: Pair | undefined;
let extra: Context | undefined;
afterEach(() => {
  pair?.close();
  extra?.close();
  pair = extra = undefined;
});

describe('async events', () => {
  it('SQ_DRAINED names the QP that was moved to SQD, and only that one', async () => {
    pair = connectedPair({ events: false });
    const { ctx, a, b } = pair;
    const seen = record(ctx);
    const drained = nextEvent(ctx, (e) => e.type === 'SQ_DRAINED');
    b.modify({ qpState: 'SQD' });
    const ev = await drained;
    expect(ev).toEqual({ type: 'SQ_DRAINED', qpNum: b.qpn });
    if (ev.type === 'SQ_DRAINED') expect(ev.port).toBeUndefined();
    await sleep(200);
    expect(seen.filter((e) => e.qpNum === a.qpn)).toEqual([]);

    a.modify({ qpState: 'SQD' });
    expect(await nextEvent(ctx, (e) => e.type === 'SQ_DRAINED')).toEqual({ type: 'SQ_DRAINED', qpNum: a.qpn });
  });

  it('events reach only the context that owns the QP', async () => {
    pair = connectedPair({ events: false });
    extra = openDevice(pair.ctx.name);
    const other = record(extra);
    pair.a.modify({ qpState: 'SQD' });
    await nextEvent(pair.ctx, (e) => e.qpNum === pair!.a.qpn);
    await sleep(200);
    expect(other).toEqual([]);
  });

  it('SRQ_LIMIT_REACHED once an armed SRQ falls below its limit; the limit disarms', async () => {
    const ctx = openDevice();
    extra = ctx;
    const pd = ctx.allocPd();
    const cq = ctx.createCq();
    const srq = pd.createSrq({ maxWr: 16, srqLimit: 4 });
    const { a: sender } = loopback(pd, cq, cq, srq);
    const mr = pd.allocateMemory(4096);
    srq.postRecv(Array.from({ length: 6 }, (_, i) => ({ id: BigInt(i), sg: [{ mr, offset: i * 64, length: 64 }] })));
    expect(srq.query().srqLimit).toBe(4);
    const seen = record(ctx);
    // 6 posted, limit 4: the third receive leaves 3 < 4.
    for (let i = 0; i < 3; i++) sender.postSend({ id: BigInt(i), sg: [{ mr, length: 8 }] });
    pollN(cq, 3);
    expect(await nextEvent(ctx, (e) => e.type === 'SRQ_LIMIT_REACHED')).toEqual({ type: 'SRQ_LIMIT_REACHED' });
    expect(srq.query().srqLimit).toBe(0);
    await sleep(200);
    expect(seen.filter((e) => e.type === 'SRQ_LIMIT_REACHED')).toHaveLength(1);
  });

  it('CQ_ERR when a CQ overflows; a whole burst of events is delivered', async () => {
    const ctx = openDevice();
    extra = ctx;
    const pd = ctx.allocPd();
    const small = ctx.createCq({ entries: 1 });
    const cq = ctx.createCq();
    const { a } = loopback(pd, small, cq);
    const mr = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const seen = record(ctx);
    const n = small.size + 4;
    for (let i = 0; i < n; i++) a.postSend({ opcode: 'RDMA_WRITE', sg: [{ mr, length: 8 }], remote: mr.remote() });
    await nextEvent(ctx, (e) => e.type === 'CQ_ERR');
    await sleep(300);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    for (const e of seen) expect(e).toEqual({ type: 'CQ_ERR' });
  });

  it('an RDMA WRITE with a bad rkey: the requester completes with REM_ACCESS_ERR; any event names the responder', async () => {
    pair = connectedPair({ events: false });
    const { ctx, pd, a, b, cqA } = pair;
    const seen = record(ctx);
    const mr = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    a.postSend({ id: 7n, opcode: 'RDMA_WRITE', sg: [{ mr, length: 64 }], remote: { ...mr.remote(), rkey: (mr.rkey ^ 0x5a5a00) >>> 0 } });
    const [wc] = pollN(cqA, 1);
    expect(wc).toMatchObject({ id: 7n, status: 'REM_ACCESS_ERR' });
    await sleep(300);
    // rxe on 6.1 raises nothing here; newer kernels raise QP_ACCESS_ERR on the responder.
    for (const e of seen) {
      expect(['QP_ACCESS_ERR', 'QP_REQ_ERR', 'QP_FATAL', 'QP_LAST_WQE_REACHED']).toContain(e.type);
      expect(e.qpNum).toBe(b.qpn);
    }
  });

  it('no event is emitted once the context is closed, even one already raised', async () => {
    pair = connectedPair({ events: false });
    const { ctx, a } = pair;
    const seen = record(ctx);
    a.modify({ qpState: 'SQD' });
    // Spin without yielding: rxe raises SQ_DRAINED meanwhile, but the loop cannot read it.
    for (const t = Date.now(); Date.now() - t < 200; );
    ctx.close();
    const before = seen.length;
    await sleep(300);
    expect(seen.length).toBe(before);
    // Harmless after close; listeners stay registered.
    expect(ctx.ref()).toBe(ctx);
    expect(ctx.unref()).toBe(ctx);
    expect(ctx.listenerCount('event')).toBe(1);
  });

  it('a listener may close the context: the rest of a burst is dropped, nothing crashes', async () => {
    const ctx = openDevice();
    extra = ctx;
    const pd = ctx.allocPd();
    const small = ctx.createCq({ entries: 1 });
    const { a } = loopback(pd, small, ctx.createCq());
    const mr = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    let calls = 0;
    ctx.on('event', () => {
      calls++;
      ctx.close();
    });
    for (let i = 0; i < small.size + 6; i++) a.postSend({ opcode: 'RDMA_WRITE', sg: [{ mr, length: 8 }], remote: mr.remote() });
    const until = Date.now() + 5_000;
    while (calls === 0 && Date.now() < until) await sleep(20);
    await sleep(300);
    expect(calls).toBe(1);
    expect(ctx.closed).toBe(true);
  });

  it('without ref() nothing keeps the process alive, with or without listeners', () => {
    for (const listen of [false, true]) {
      const r = runChild(`${CHILD_SETUP}
        ${listen ? "ctx.on('event', (e) => console.log('event', e.type));" : ''}
        // Would fire after the process has nothing else to do: it must not wait for it.
        setTimeout(() => { a.modify({ qpState: 'SQD' }); console.log('timer ran'); }, 1000).unref();
        console.log('done');`);
      expect(r.signal).toBeNull();
      expect(r.status).toBe(0);
      expect(r.out).toContain('done');
      expect(r.out).not.toContain('timer ran');
    }
  });

  it('ref() keeps the process alive for events; unref() lets it go', () => {
    const r = runChild(`${CHILD_SETUP}
      ctx.ref();
      ctx.on('event', (e) => { console.log('event', e.type, e.qpNum === a.qpn); ctx.unref(); });
      setTimeout(() => a.modify({ qpState: 'SQD' }), 300).unref();`);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.out).toContain('event SQ_DRAINED true');
  });

  it('a listener that throws surfaces as an uncaught exception', () => {
    const r = runChild(`${CHILD_SETUP}
      process.on('uncaughtException', (e) => { console.log('uncaught', e.message); ctx.close(); console.log('closed', ctx.closed); });
      ctx.ref();
      ctx.on('event', (e) => { console.log('event', e.type); throw new Error('listener failed'); });
      // A hang says which half failed (no event, or no exit after close) in 10 s, not at the 30 s bound.
      setTimeout(() => { console.log('watchdog: still alive after 10 s, closed', ctx.closed, 'state', a.state); process.exit(4); }, 10_000).unref();
      // SQD straight after RTS sometimes never drains on rxe (it hung ~1 run in 3 under vitest):
      // move it a moment later, as the ref() test does.
      setTimeout(() => { a.modify({ qpState: 'SQD' }); console.log('modified', a.state); }, 300);`);
    expect(r.signal, r.out).toBeNull();
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('uncaught listener failed');
  });

  // Takes the device's netdev down: only in the testbed VM, never on a host.
  it.runIf(process.env.RDMAJS_TESTBED === '1')('PORT_ERR and PORT_ACTIVE when the link goes down and up', async () => {
    const ctx = openDevice();
    extra = ctx;
    const netdev = ctx.defaultGid(1).netdev;
    expect(netdev).toBeTruthy();
    const gids = ctx.gidTable(1).length;
    // Port events go to every context of the device.
    const other = openDevice(ctx.name);
    const otherSeen = record(other);
    const down = nextEvent(ctx, (e) => e.type === 'PORT_ERR');
    execFileSync('ip', ['link', 'set', netdev!, 'down']);
    try {
      expect(await down).toEqual({ type: 'PORT_ERR', port: 1 });
      expect(ctx.queryPort(1).state).toBe('DOWN');
    } finally {
      const up = nextEvent(ctx, (e) => e.type === 'PORT_ACTIVE');
      execFileSync('ip', ['link', 'set', netdev!, 'up']);
      expect(await up).toEqual({ type: 'PORT_ACTIVE', port: 1 });
    }
    expect(ctx.queryPort(1).state).toBe('ACTIVE');
    other.close();
    expect(otherSeen.filter((e) => e.type.startsWith('PORT_'))).toEqual([
      { type: 'PORT_ERR', port: 1 },
      { type: 'PORT_ACTIVE', port: 1 },
    ]);
    // Later files need the GIDs back.
    const until = Date.now() + 5_000;
    while (ctx.gidTable(1).length < gids && Date.now() < until) await sleep(50);
    expect(ctx.gidTable(1).length).toBe(gids);
  });
});
