// The credit state machine of the verbs transport, over a fake link: two
// sides that each send frames and return credits the way the transport does.
import { describe, expect, it } from 'vitest';

import { Credits } from '../../src/transport/credits.js';
import { MAX_CREDITS_FIELD } from '../../src/transport/wire.js';

/** One direction's receiver state plus the frames in flight to it. */
interface Side {
  out: Credits; // credits for sending to the other side, and what we owe it
  inbox: { credits: number; takesBuffer: boolean }[];
  buffersInUse: number;
  maxBuffersInUse: number;
}

function side(window: number): Side {
  return { out: new Credits(window), inbox: [], buffersInUse: 0, maxBuffersInUse: 0 };
}

/** Sends one frame from `a` to `b` as the transport does; false when out of credits. */
function sendFrame(a: Side, b: Side, creditOnly = false): boolean {
  if (!creditOnly && !a.out.spend()) return false;
  b.inbox.push({ credits: a.out.takeOwed(), takesBuffer: !creditOnly });
  b.buffersInUse++;
  b.maxBuffersInUse = Math.max(b.maxBuffersInUse, b.buffersInUse);
  return true;
}

/** `b` handles everything in its inbox, reposting buffers and taking credits; then sends a CREDIT frame if due. */
function drain(b: Side, a: Side): void {
  for (const f of b.inbox.splice(0)) {
    expect(b.out.grant(f.credits)).toBe(true);
    b.buffersInUse--;
    if (f.takesBuffer) b.out.consumed();
  }
  if (b.out.creditFrameDue) sendFrame(b, a, true);
}

describe('Credits', () => {
  it('spends down to zero, refuses, and grants back', () => {
    const c = new Credits(4);
    expect([c.spend(), c.spend(), c.spend(), c.spend(), c.spend()]).toEqual([true, true, true, true, false]);
    expect(c.available).toBe(0);
    expect(c.grant(3)).toBe(true);
    expect(c.available).toBe(3);
    expect(c.grant(2)).toBe(false); // more than the window: a protocol error, nothing changes
    expect(c.available).toBe(3);
  });

  it('owed credits ride back whole, capped at the header field', () => {
    const c = new Credits(8);
    for (let i = 0; i < 5; i++) c.consumed();
    expect(c.creditFrameDue).toBe(true); // 5 >= 8/2
    expect(c.takeOwed()).toBe(5);
    expect(c.takeOwed()).toBe(0);
    expect(c.creditFrameDue).toBe(false);
    const big = new Credits(2);
    big.owed = MAX_CREDITS_FIELD + 10;
    expect(big.takeOwed()).toBe(MAX_CREDITS_FIELD);
    expect(big.owed).toBe(10);
  });

  it('rejects windows below 2', () => {
    expect(() => new Credits(1)).toThrow(RangeError);
    expect(() => new Credits(2.5)).toThrow(RangeError);
  });

  it('two sides both out of credits with work queued still make progress (CREDIT frames need no credit)', () => {
    const window = 8;
    const a = side(window);
    const b = side(window);
    let aLeft = 1000;
    let bLeft = 1000;
    for (let round = 0; round < 10_000 && (aLeft > 0 || bLeft > 0); round++) {
      while (aLeft > 0 && sendFrame(a, b)) aLeft--;
      while (bLeft > 0 && sendFrame(b, a)) bLeft--;
      drain(b, a);
      drain(a, b);
    }
    expect([aLeft, bLeft]).toEqual([0, 0]);
    // Never more frames waiting in a receiver than its window plus the CREDIT reserve (2).
    expect(a.maxBuffersInUse).toBeLessThanOrEqual(window + 2);
    expect(b.maxBuffersInUse).toBeLessThanOrEqual(window + 2);
  });

  it('a one-way stream keeps flowing on CREDIT frames alone', () => {
    const window = 4;
    const a = side(window);
    const b = side(window);
    let sent = 0;
    for (let round = 0; round < 1000; round++) {
      while (sendFrame(a, b)) sent++;
      drain(b, a);
      drain(a, b);
    }
    expect(sent).toBeGreaterThan(900 * (window >> 1));
    expect(b.maxBuffersInUse).toBeLessThanOrEqual(window);
  });
});
