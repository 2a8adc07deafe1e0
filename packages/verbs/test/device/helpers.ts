// A loopback pair of connected queue pairs on one device (rxe loops back
// internally), the building block of the device tests.
import { afterEach } from 'vitest';

import { openDevice, type CompletionQueue, type Context, type ProtectionDomain, type QpOptions, type QueuePair, type WorkCompletion } from '../../src/index.js';

export interface Pair {
  ctx: Context;
  pd: ProtectionDomain;
  cqA: CompletionQueue;
  cqB: CompletionQueue;
  a: QueuePair<'ready'>;
  b: QueuePair<'ready'>;
  close(): void;
}

export function connectedPair(options: { type?: 'RC' | 'UC'; cap?: QpOptions['cap']; events?: boolean } = {}): Pair {
  const ctx = openDevice();
  const pd = ctx.allocPd();
  const channel = options.events === false ? undefined : ctx.createCompletionChannel();
  const cqA = ctx.createCq({ entries: 1024, channel });
  const cqB = ctx.createCq({ entries: 1024, channel });
  const qpA = pd.createQp({ type: options.type ?? 'RC', sendCq: cqA, cap: options.cap });
  const qpB = pd.createQp({ type: options.type ?? 'RC', sendCq: cqB, cap: options.cap });
  // Endpoints cross as JSON, exactly as they would between processes.
  const epA = JSON.parse(JSON.stringify(qpA.endpoint()));
  const epB = JSON.parse(JSON.stringify(qpB.endpoint()));
  const a = qpA.connect(epB);
  const b = qpB.connect(epA);
  return { ctx, pd, cqA, cqB, a, b, close: () => ctx.close() };
}

/** Polls (busy) until `n` completions arrive or `ms` pass. */
export function pollN(cq: CompletionQueue, n: number, ms = 10_000): WorkCompletion[] {
  const out: WorkCompletion[] = [];
  const until = Date.now() + ms;
  while (out.length < n) {
    out.push(...cq.poll(n - out.length));
    if (Date.now() > until) throw new Error(`timed out with ${out.length}/${n} completions`);
  }
  return out;
}

/**
 * rdma_cm test scaffolding: `setup()` opens the device (closed after each
 * test) with a PD and a CQ; `cleanups` run in reverse order after each
 * test, before the device closes.
 */
export function cmScaffold() {
  let ctx: Context | undefined;
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    ctx?.close();
    ctx = undefined;
  });
  return {
    cleanups,
    /** The device opened by the current test's setup(). */
    get ctx(): Context {
      if (!ctx) throw new Error('cmScaffold: setup() was not called');
      return ctx;
    },
    setup() {
      ctx = openDevice();
      return { ip: ctx.defaultGid(1).ip!, pd: ctx.allocPd(), cq: ctx.createCq({ entries: 256 }) };
    },
  };
}
