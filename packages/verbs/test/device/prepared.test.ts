// Prepared send sets (qp.prepareSend) on the real device: data verified,
// every setter, bad input, and that the addon's checks still guard each post.
import { afterEach, describe, expect, it } from 'vitest';

import { PreparedSends, RdmaError } from '../../src/index.js';
import { connectedPair, pollN, type Pair } from './helpers.js';

let pair: Pair | undefined;
afterEach(() => {
  pair?.close();
  pair = undefined;
});

describe('prepared sends', () => {
  it('posts a set again and again; setters move SGEs, ids, immediates and remote offsets', () => {
    pair = connectedPair({ cap: { maxSendWr: 32, maxRecvWr: 32 } });
    const { pd, a, b, cqA, cqB } = pair;
    const src = pd.allocateMemory(4096);
    const dst = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    for (let i = 0; i < 4096; i++) src.buffer[i] = i & 0xff;

    const set = a.prepareSend([
      { id: 1n, opcode: 'SEND', sg: [{ mr: src, offset: 0, length: 16 }], signaled: false },
      { id: 2n, opcode: 'RDMA_WRITE_WITH_IMM', sg: [{ mr: src, offset: 100, length: 8 }], remote: dst.remote(), imm: 7 },
    ]);
    expect(set).toBeInstanceOf(PreparedSends);
    expect(set.length).toBe(2);

    for (let round = 0; round < 3; round++) {
      b.postRecv([{ id: 10n, sg: [{ mr: dst, offset: 2048, length: 1024 }] }, { id: 11n }]);
      set.setSge(0, round * 32, 16 + round);
      set.setId(1, BigInt(100 + round));
      set.setImm(1, 0xabc0 + round);
      set.setRemoteOffset(1, 512 * round);
      set.post();
      // Only the signaled WRITE completes on the sender; it retires the SEND too.
      expect(pollN(cqA, 1)[0]).toMatchObject({ id: BigInt(100 + round), status: 'SUCCESS' });
      const got = pollN(cqB, 2);
      expect(got[0]).toMatchObject({ id: 10n, opcode: 'RECV', byteLen: 16 + round });
      expect(got[1]).toMatchObject({ id: 11n, opcode: 'RECV_RDMA_WITH_IMM', imm: 0xabc0 + round });
      expect(dst.buffer.subarray(2048, 2048 + 16 + round)).toEqual(src.buffer.subarray(round * 32, round * 32 + 16 + round));
      expect(dst.buffer.subarray(512 * round, 512 * round + 8)).toEqual(src.buffer.subarray(100, 108));
    }
    expect(a.outstanding.send).toBe(0);

    // post(count) sends the first requests only; signaled can be switched on.
    set.setSignaled(0, true);
    b.postRecv({ id: 12n, sg: [{ mr: dst }] });
    set.post(1);
    expect(pollN(cqA, 1)[0]).toMatchObject({ id: 1n, opcode: 'SEND' });
    expect(pollN(cqB, 1)[0]).toMatchObject({ id: 12n, byteLen: 18 });
    set.close();
    set.close();
    expect(set.closed).toBe(true);
    expect(() => set.post()).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'ibv_post_send' }));
  });

  it('refuses bad setters, bad sets and posts the addon would refuse, and posts nothing then', () => {
    pair = connectedPair({ cap: { maxSendWr: 8, maxInlineData: 32 } });
    const { pd, a, cqA } = pair;
    const mr = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_ATOMIC']);
    // The device may round caps up: derive the limits from what it gave.
    const inlineMax = a.cap.maxInlineData;
    expect(inlineMax).toBeLessThan(4096);
    const set = a.prepareSend([
      { opcode: 'SEND', sg: [{ mr, length: 8 }] },
      { opcode: 'SEND', sg: [{ mr, length: 8 }], inline: true },
      { opcode: 'ATOMIC_FETCH_AND_ADD', sg: [{ mr, length: 8 }], remote: mr.remote(), compareAdd: 1n },
    ]);
    const bad: Array<[() => void, RegExp | ErrorConstructor]> = [
      [() => set.setSignaled(3, true), RangeError],
      [() => set.setSignaled(-1, true), RangeError],
      [() => set.setSignaled(0.5, true), RangeError],
      [() => set.setSignaled('0' as never, true), RangeError],
      [() => set.setSignaled(0, 1 as never), TypeError],
      [() => set.setId(0, 1 as never), TypeError],
      [() => set.setId(0, -1n), RangeError],
      [() => set.setImm(0, 5), /carries no immediate/],
      [() => set.setRemoteOffset(0, 8), /is a SEND/],
      [() => set.setRemoteOffset(2, -8), RangeError],
      [() => set.setSge(0, 0, 4097), RangeError],
      [() => set.setSge(0, 4090, 8), RangeError],
      [() => set.setSge(0, 0, 8, 1), RangeError],
      [() => set.setSge(1, 0, inlineMax + 1), /maxInlineData/],
      [() => set.setSge(2, 0, 16), /exactly 8 bytes/],
      [() => set.post(0), RangeError],
      [() => set.post(4), RangeError],
      [() => a.prepareSend([]), TypeError],
      [() => a.prepareSend('x' as never), TypeError],
      [() => a.prepareSend(Array.from({ length: a.cap.maxSendWr + 1 }, () => ({ sg: [{ mr, length: 1 }] }))), RangeError],
      [() => a.prepareSend([{ opcode: 'NOPE' as never }]), RangeError],
    ];
    for (const [fn, want] of bad) expect(fn).toThrow(want);

    // A misaligned atomic target is refused by the addon at post time.
    set.setRemoteOffset(2, 4);
    expect(() => set.post(3)).toThrow(/8-byte aligned/);
    set.setRemoteOffset(2, 0);
    // A region closed after preparing: the addon refuses the post whole.
    const other = pd.allocateMemory(64);
    const late = a.prepareSend([{ sg: [{ mr, length: 8 }] }, { sg: [{ mr: other, length: 8 }] }]);
    other.close();
    expect(() => late.post()).toThrow(/work request #1: sg\[0\]\.mr is closed/);
    expect(a.outstanding.send).toBe(0);
    expect(cqA.poll()).toHaveLength(0);
    late.close();
    set.close();
  });

  it('prepared sets die with their QP; many sets come and go; postSend(wrs, count) posts a prefix', () => {
    pair = connectedPair({ cap: { maxSendWr: 16 } });
    const { pd, a, cqA } = pair;
    const mr = pd.allocateMemory(64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    // Bank ids are reused: a thousand sets, one at a time.
    for (let i = 0; i < 1000; i++) a.prepareSend([{ opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() }]).close();
    using set = a.prepareSend([{ id: 9n, opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() }]);
    set.post();
    expect(pollN(cqA, 1)[0]).toMatchObject({ id: 9n, status: 'SUCCESS' });

    const list = [1n, 2n, 3n, 4n].map((id) => ({ id, opcode: 'RDMA_WRITE' as const, sg: [{ mr }], remote: mr.remote() }));
    a.postSend(list, 2);
    expect(pollN(cqA, 2).map((wc) => wc.id)).toEqual([1n, 2n]);
    expect(cqA.poll()).toHaveLength(0);
    a.postSend(list, 0); // nothing
    expect(() => a.postSend(list, 5)).toThrow(RangeError);
    expect(a.outstanding.send).toBe(0);

    a.close();
    expect(set.closed).toBe(true);
    expect(() => set.post()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => set.post()).toThrow(RdmaError);
    set.close();
  });
});
