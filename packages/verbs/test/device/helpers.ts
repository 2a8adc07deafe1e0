// A loopback pair of connected queue pairs on one device (rxe loops back
// internally), the building block of the device tests.
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
