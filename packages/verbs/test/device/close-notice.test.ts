// The addon tells a CQ when a close() destroys it, whoever closes it (the
// CQ, its channel, its device): its waiters reject with EBADF at once, and
// waiters of queues still open are left alone.
import { afterEach, describe, expect, it } from 'vitest';

import { CompletionBatch, openDevice, type Context } from '../../src/index.js';

let ctx: Context | undefined;
afterEach(() => {
  ctx?.close();
  ctx = undefined;
});

describe('close notices', () => {
  it('closing a channel rejects the waiters of its CQs, not those of another channel', async () => {
    ctx = openDevice();
    const channel = ctx.createCompletionChannel();
    const other = ctx.createCompletionChannel();
    const cq = ctx.createCq({ channel });
    const spare = ctx.createCq({ channel: other });
    const pending = cq.next();
    const untouched = spare.wait({ timeoutMs: 300 });
    channel.close();
    expect(cq.closed).toBe(true);
    await expect(pending).rejects.toMatchObject({ code: 'EBADF', syscall: 'CompletionQueue.wait' });
    await expect(untouched).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(spare.closed).toBe(false);
  });

  it('closing the CQ itself rejects its waiters; closing it again is harmless', async () => {
    ctx = openDevice();
    const cq = ctx.createCq({ channel: ctx.createCompletionChannel() });
    const waits = [cq.next(), cq.wait(), cq.pollWait(new CompletionBatch(4))];
    cq.close();
    cq.close();
    for (const w of waits) await expect(w).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('closing the device rejects the waiters of every CQ below it', async () => {
    ctx = openDevice();
    const channel = ctx.createCompletionChannel();
    const cqs = [ctx.createCq({ channel }), ctx.createCq({ channel: ctx.createCompletionChannel() })];
    const waits = cqs.map((cq) => cq.next());
    ctx.close();
    for (const w of waits) await expect(w).rejects.toMatchObject({ code: 'EBADF' });
  });
});
