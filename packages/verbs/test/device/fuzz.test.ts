// Randomised misuse: thousands of calls picked from every public method,
// with arguments drawn from valid and invalid values, on live, closed and
// mismatched objects, in random states. Only typed JS errors may come back,
// and the process must survive. Seeded, so a failure replays.
import { describe, expect, it } from 'vitest';

import { CompletionBatch, RdmaError, openDevice, type Context } from '../../src/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz', () => {
  it('5000 random calls on live, closed and mismatched objects raise only typed errors', async () => {
    const seed = Number(process.env.RDMAJS_FUZZ_SEED ?? 20261125);
    const rand = rng(seed);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

    const contexts: Context[] = [openDevice(), openDevice()];
    const [ctx, other] = contexts as [Context, Context];
    const pd = ctx.allocPd();
    const pd2 = ctx.allocPd();
    const ch = ctx.createCompletionChannel();
    const cq = ctx.createCq({ channel: ch, entries: 4096 });
    const foreignCq = other.createCq();
    const srq = pd.createSrq({ maxWr: 32 });
    const mrs = [pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ', 'REMOTE_ATOMIC', 'MW_BIND']), pd.allocateMemory(64), pd2.allocateMemory(64)];
    const qps = [
      pd.createQp({ sendCq: cq, cap: { maxInlineData: 32, maxSendWr: 16, maxRecvWr: 16 } }),
      pd.createQp({ sendCq: cq, cap: { maxSendWr: 16, maxRecvWr: 16 } }),
      pd.createQp({ type: 'UC', sendCq: cq }),
      pd.createQp({ type: 'UD', sendCq: cq }).activate(),
      pd.createQp({ sendCq: cq, srq }),
    ];
    qps[0]!.connect(qps[1]!.endpoint());
    qps[1]!.connect(qps[0]!.endpoint());
    const ah = pd.createAh(qps[3]!.endpoint());
    const closedMr = pd.allocateMemory(64);
    closedMr.close();

    const numbers = [0, 1, 7, 8, 64, 4095, 4096, 4097, -1, 0.5, NaN, Infinity, 2 ** 31, 2 ** 32, 2 ** 53];
    const bigints = [0n, 1n, 8n, -1n, 2n ** 64n, 2n ** 63n];
    const junk = [undefined, null, 'x', {}, [], true, Symbol('s'), () => 1, new Uint8Array(8)];
    const anyValue = () => pick([pick(numbers), pick(bigints), pick(junk)] as unknown[]);
    const mr = () => pick([...mrs, closedMr, pick(junk)] as unknown[]);
    const num = () => (rand() < 0.7 ? pick(numbers) : anyValue());
    const sge = () => (rand() < 0.8 ? { mr: mr(), offset: num(), length: num() } : anyValue());
    const sgList = () => (rand() < 0.9 ? Array.from({ length: Math.floor(rand() * 3) }, sge) : anyValue());
    const opcodes = ['SEND', 'SEND_WITH_IMM', 'RDMA_WRITE', 'RDMA_WRITE_WITH_IMM', 'RDMA_READ', 'ATOMIC_CMP_AND_SWP', 'ATOMIC_FETCH_AND_ADD', 'BOGUS'];
    const remote = () => (rand() < 0.8 ? { address: pick([mrs[0]!.address, ...bigints]), rkey: pick([mrs[0]!.rkey, ...numbers]), offset: num() } : anyValue());
    const sendWr = () => ({
      id: pick(bigints),
      opcode: pick(opcodes),
      sg: sgList(),
      imm: rand() < 0.5 ? num() : undefined,
      remote: rand() < 0.7 ? remote() : undefined,
      compareAdd: rand() < 0.3 ? pick(bigints) : undefined,
      swap: rand() < 0.3 ? pick(bigints) : undefined,
      signaled: rand() < 0.8,
      inline: rand() < 0.2,
      ud: rand() < 0.2 ? { ah: pick([ah, anyValue()]), remoteQpn: num(), remoteQkey: num() } : undefined,
    });
    const qp = () => pick(qps);
    const states = ['RESET', 'INIT', 'RTR', 'RTS', 'ERR', 'BOGUS'];
    const batch = new CompletionBatch(64);

    const actions: Array<() => unknown> = [
      () => qp().postSend(rand() < 0.5 ? sendWr() : Array.from({ length: Math.floor(rand() * 5) }, sendWr)),
      () => qp().postRecv(rand() < 0.5 ? { id: pick(bigints), sg: sgList() } : [anyValue()]),
      () => srq.postRecv({ id: pick(bigints), sg: sgList() }),
      () => qp().modify({ qpState: pick(states) as never }),
      () => qp().modify({ qpState: 'INIT', portNum: num(), pkeyIndex: num(), access: [pick(['LOCAL_WRITE', 'X'])] as never }),
      () => qp().connect(pick([qps[0]!.endpoint(), qps[1]!.endpoint(), anyValue()]) as never),
      () => qp().query(),
      () => qp().endpoint({ gidIndex: num() as never }),
      () => cq.pollInto(batch),
      () => cq.poll(num() as never),
      () => pd.registerMemory(pick([Buffer.alloc(16), Buffer.from('pool'), new ArrayBuffer(8), anyValue()]) as never, [pick(['LOCAL_WRITE', 'REMOTE_WRITE'])] as never).close(),
      () => pd.createAh(pick([qps[3]!.endpoint(), { dlid: num(), portNum: num() }, anyValue()]) as never).close(),
      () => pd.createQp({ sendCq: pick([cq, foreignCq, anyValue()]) as never, cap: { maxSendWr: num() as never } }).close(),
      () => pd2.createQp({ sendCq: cq, srq: pick([srq, anyValue()]) as never }).close(),
      () => mrs[0]!.remote(num() as never, num() as never),
      () => pick(mrs).close(), // in-flight regions refuse with EBUSY
      () => ctx.queryPort(num() as never),
      () => ctx.gidTable(num() as never),
      () => srq.modify({ srqLimit: num() as never }),
    ];

    let calls = 0;
    let errors = 0;
    for (let i = 0; i < 5000; i++) {
      calls++;
      try {
        pick(actions)();
      } catch (err) {
        errors++;
        const typed = err instanceof TypeError || err instanceof RangeError || err instanceof RdmaError;
        if (!typed) throw new Error(`seed ${seed}, call ${i}: untyped error ${String(err)}`);
        // Names the verb or method.
        expect((err as Error).message, `seed ${seed}, call ${i}: ${(err as Error).stack}`).toMatch(/^[\w.]+: /);
      }
      if (i === 4000) pd2.close(); // the rest runs against a closed PD too
      // Let the event loop breathe: the test runner's worker must stay responsive.
      if (i % 250 === 0) await new Promise((r) => setImmediate(r));
    }
    for (const c of contexts) c.close();
    expect(calls).toBe(5000);
    expect(errors).toBeGreaterThan(1000);
  }, 600_000);
});
