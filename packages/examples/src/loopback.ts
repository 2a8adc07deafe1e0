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
  a: QueuePair;
  b: QueuePair;
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
  const a = pd.createQp({ sendCq: cqA, recvCq: rcqA, cap });
  const b = pd.createQp({ sendCq: cqB, recvCq: rcqB, cap });
  a.connect(b.endpoint());
  b.connect(a.endpoint());
  return { ctx, pd, cqA, cqB, rcqA, rcqB, a, b };
}
