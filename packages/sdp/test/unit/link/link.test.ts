// The link's credit, stall and FIN cases replayed over a fake transport
// (fake-transport.ts): the interleavings found on real hardware are set up
// step by step, delivering work requests and completions in a chosen order.
import { describe, expect, it } from 'vitest';

import { CREDIT_BYTES, Kind, imm } from '../../../src/protocol.js';
import { pair, pattern, settle, turns, type End } from './fake-transport.js';

// Buffer.equals: vitest's deep equality walks big buffers byte by byte.
function expectBytes(got: Buffer, want: Buffer): void {
  expect(got.length).toBe(want.length);
  expect(got.equals(want)).toBe(true);
}

function codeOf(e: End): string | undefined {
  return (e.errors[0] as { code?: string } | undefined)?.code;
}

describe('Link over a fake transport', () => {
  it('delivers bytes in order, then the FIN after all of them; finish() reports once the peer has it', async () => {
    const { a, b } = pair();
    const data = pattern(10_000);
    a.write(data);
    await settle(a, b);
    expect(a.pendingBytes).toBe(0);
    let finished: unknown = 'not yet';
    a.link.finish((err) => (finished = err));
    await settle(a, b);
    expectBytes(b.text(), data);
    expect(b.eofSeen).toBe(true);
    expect(b.eofAt).toBe(data.length);
    expect(b.link.ended).toBe(true);
    expect(finished).toBeUndefined();
    const kinds = a.t.kinds();
    expect(kinds.at(-1)).toBe('FIN');
    expect(kinds.filter((k) => k === 'FIN')).toHaveLength(1);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it('stops at the peer ring\'s credit, never wakes a peer whose reader is paused, and goes on once it reads', async () => {
    const { a, b } = pair({}, { ringSize: 4096 });
    b.pauseReading = true;
    a.write(pattern(1000));
    await settle(a, b);
    expect(b.text().length).toBe(1000); // delivered, then the reader paused
    const data = pattern(20_000, 2);
    a.write(data);
    await settle(a, b);
    // A filled B's ring and waits; B holds a full ring it may not deliver.
    expect(b.link.unread).toBe(4096);
    expect(a.link.writableBytes).toBe(0);
    expect(a.pendingBytes).toBeGreaterThan(0);
    expect(a.t.kinds()).toContain('BLOCKED');
    const credits = b.t.kinds().filter((k) => k === 'CREDIT').length;
    await settle(a, b);
    await turns(5);
    expect(b.t.kinds().filter((k) => k === 'CREDIT').length).toBe(credits); // no wake-up storm
    b.pauseReading = false;
    b.link.resume();
    await settle(a, b);
    expect(a.pendingBytes).toBe(0);
    expectBytes(b.text(), Buffer.concat([pattern(1000), data]));
  });

  it('runs out of message credits (receives), says BLOCKED, and resumes when the peer reposts', async () => {
    // 10 receives: 8 are kept for control messages, so two DATA at a time.
    const { a, b } = pair({}, { recvCredits: 10 });
    const parts: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      parts.push(pattern(100, i));
      a.write(parts[i]!);
      // Each write goes out alone (as with noDelay) when credit allows.
      if (i % 5 === 0) await settle(a, b);
    }
    await settle(a, b);
    expectBytes(b.text(), Buffer.concat(parts));
    const kinds = a.t.kinds();
    expect(kinds).toContain('BLOCKED');
    expect(b.t.kinds()).toContain('CREDIT');
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it('a CREDIT wakes a writer that blocked again after reading the credit word (the stall fixed in 0962daa)', async () => {
    const { a, b } = pair({}, { ringSize: 4096 });
    const data = pattern(3 * 4096, 3);
    a.t.held = true; // A sees no completions until released
    a.write(data);
    // A filled B's ring and told B it is blocked.
    expect(a.t.kinds()).toEqual(['DATA', 'BLOCKED']);
    a.t.deliverAll(); // DATA and BLOCKED land; the BLOCKED's completion waits in A's CQ
    await turns();
    // B read it all and answers: credit word write, then CREDIT.
    expect(b.text().length).toBe(4096);
    expect(b.t.kinds()).toEqual(['CREDIT']);
    expect(b.t.wire.map((o) => o.opcode)).toEqual(['RDMA_WRITE', 'SEND_WITH_IMM']);
    b.t.deliver(1); // only the credit word lands
    a.t.release(); // A takes the BLOCKED's completion, sees the credit moved, writes on and blocks again
    await turns();
    // No second BLOCKED: as far as A knows, its first is not answered yet.
    expect(a.t.kinds()).toEqual(['DATA', 'BLOCKED', 'DATA']);
    b.t.deliver(1); // now the CREDIT: the credit word it announces was read already
    await turns();
    // The writer must look again, find no room, and say BLOCKED anew.
    expect(a.t.kinds()).toEqual(['DATA', 'BLOCKED', 'DATA', 'BLOCKED']);
    await settle(a, b);
    expectBytes(b.text(), data);
    expect(a.pendingBytes).toBe(0);
  });

  it('a big zero-copy write posts its DATA messages back to back while credit lasts (5c85502), BLOCKED only when out', async () => {
    const { a, b } = pair({ zeroCopyThreshold: 64 * 1024 }, { ringSize: 1 << 20 });
    const big = pattern(600 * 1024, 4);
    a.write(big);
    // One write() call: three messages from the caller's buffer, no copy, no BLOCKED.
    expect(a.t.kinds()).toEqual(['DATA', 'DATA', 'DATA']);
    expect(a.t.dataSizes()).toEqual([256 * 1024, 256 * 1024, 88 * 1024]);
    expect(a.link.zeroCopyBytes).toBe(big.length);
    expect(a.t.zeroCopy!.acquired).toBe(3);
    let sent: unknown = 'not yet';
    a.link.whenSent((err) => (sent = err));
    expect(sent).toBe('not yet'); // the NIC has not read the buffer yet
    await settle(a, b);
    expect(sent).toBeUndefined();
    expect(a.t.zeroCopy!.released).toBe(3);
    expectBytes(b.text(), big);

    // More than the credit: zero-copy while it lasts, then BLOCKED.
    const c = pair({ zeroCopyThreshold: 64 * 1024 }, { ringSize: 512 * 1024 });
    const huge = pattern(1 << 20, 5);
    c.a.t.held = true;
    c.a.write(huge);
    expect(c.a.t.kinds()).toEqual(['DATA', 'DATA', 'BLOCKED']);
    c.a.t.release();
    await settle(c.a, c.b);
    expectBytes(c.b.text(), huge);
  });

  it('wraps around the ring: a DATA message split at the ring\'s end lands whole', async () => {
    const { a, b } = pair({}, { ringSize: 4096 });
    const parts = [pattern(3000, 6), pattern(3000, 7), pattern(3000, 8)];
    for (const p of parts) {
      a.write(p);
      await settle(a, b);
    }
    expectBytes(b.text(), Buffer.concat(parts));
    // The second message (stream bytes 3000..6000) wraps: a WRITE to the
    // ring's end, then the WRITE_WITH_IMM from offset 0 carrying all 3000.
    const i = a.t.log.findIndex((o) => o.opcode === 'RDMA_WRITE' && o.offset === 3000);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(a.t.log[i]!.bytes.length).toBe(1096);
    expect(a.t.log[i + 1]).toMatchObject({ opcode: 'RDMA_WRITE_WITH_IMM', offset: 0, imm: imm(Kind.DATA, 3000) });
    expect(a.t.log[i + 1]!.bytes.length).toBe(1904);
  });

  it('holds sends after an early accept until the peer is known ready', async () => {
    const { a, b } = pair({ established: false });
    a.write(pattern(500));
    await settle(a, b);
    expect(a.t.log).toEqual([]); // held
    a.t.establish();
    await settle(a, b);
    expectBytes(b.text(), pattern(500));
  });
});

describe('Link against a malicious peer', () => {
  it('rejects DATA that does not fit its ring (EPROTO) and resets the peer', async () => {
    const { a, b } = pair({ ringSize: 4096 });
    // B lies: a DATA immediate for more bytes than A's ring holds.
    b.t.wire.push({ opcode: 'RDMA_WRITE_WITH_IMM', bytes: Buffer.alloc(16), offset: 0, imm: imm(Kind.DATA, 4097), signaled: false });
    b.t.deliverAll();
    await turns();
    expect(codeOf(a)).toBe('EPROTO');
    expect(a.errors[0]!.message).toMatch(/does not fit the ring/);
    expect(a.t.kinds()).toEqual(['ABORT']);
    expect(a.t.halted).toBe(true);
    expect(a.text().length).toBe(0); // nothing delivered from a lying peer
    a.t.deliverAll();
    await turns();
    expect(codeOf(b)).toBe('ECONNRESET');
  });

  it('rejects a credit word that returns more than was sent', async () => {
    const { a, b } = pair();
    a.write(pattern(100));
    await settle(a, b);
    // B claims it consumed bytes A never sent.
    a.t.ring.writeUInt32LE(5000, a.t.ringSize);
    a.write(pattern(10));
    expect(codeOf(a)).toBe('EPROTO');
    expect(a.errors[0]!.message).toMatch(/credit word out of range/);
    expect(a.t.ringSize + CREDIT_BYTES).toBe(a.t.ring.length);
  });

  it('rejects DATA sent as a SEND, control messages carrying bytes, unknown kinds and DATA after FIN', async () => {
    const cases: Array<[string, Array<{ opcode: string; imm: number }>, RegExp]> = [
      ['send', [{ opcode: 'SEND_WITH_IMM', imm: imm(Kind.DATA, 10) }], /DATA arrived as a SEND/],
      ['bytes', [{ opcode: 'RDMA_WRITE_WITH_IMM', imm: imm(Kind.CREDIT) }], /carried bytes/],
      ['kind', [{ opcode: 'SEND_WITH_IMM', imm: (9 << 28) >>> 0 }], /unknown message kind 9/],
      ['after FIN', [{ opcode: 'SEND_WITH_IMM', imm: imm(Kind.FIN) }, { opcode: 'RDMA_WRITE_WITH_IMM', imm: imm(Kind.DATA, 10) }], /DATA after FIN/],
    ];
    for (const [name, ops, why] of cases) {
      const { a, b } = pair();
      for (const o of ops) b.t.wire.push({ opcode: o.opcode, bytes: Buffer.alloc(0), offset: 0, imm: o.imm, signaled: false });
      b.t.deliverAll();
      await turns();
      expect(codeOf(a), name).toBe('EPROTO');
      expect(a.errors[0]!.message, name).toMatch(why);
    }
  });
});
