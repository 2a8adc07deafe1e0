/**
 * Two RC queue pairs on one device, connected to each other through their
 * endpoints: the smallest real RDMA setup (rxe and most NICs loop back).
 */
import { openDevice, type CompletionQueue, type Context, type ProtectionDomain, type QueuePair } from '@rdmajs/verbs';

export interface Loopback {
  ctx: Context;
  pd: ProtectionDomain;
  /** Send CQs of a and b. */
  cqA: CompletionQueue;
  cqB: CompletionQueue;
  /** Receive CQs of a and b. */
  rcqA: CompletionQueue;
  rcqB: CompletionQueue;
  a: QueuePair<'ready'>;
  b: QueuePair<'ready'>;
}

export function loopback(depth = 128): Loopback {
  const ctx = openDevice();
  const pd = ctx.allocPd();
  const channel = ctx.createCompletionChannel();
  const cqA = ctx.createCq({ entries: depth * 2, channel });
  const cqB = ctx.createCq({ entries: depth * 2, channel });
  const rcqA = ctx.createCq({ entries: depth * 2, channel });
  const rcqB = ctx.createCq({ entries: depth * 2, channel });
  const cap = { maxSendWr: depth, maxRecvWr: depth, maxInlineData: 64 };
  const qpA = pd.createQp({ sendCq: cqA, recvCq: rcqA, cap });
  const qpB = pd.createQp({ sendCq: cqB, recvCq: rcqB, cap });
  // Each side hands its endpoint to the other; connect() returns the QP typed ready.
  const epA = qpA.endpoint();
  const a = qpA.connect(qpB.endpoint());
  const b = qpB.connect(epA);
  return { ctx, pd, cqA, cqB, rcqA, rcqB, a, b };
}
