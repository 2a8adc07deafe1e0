// Pure-logic checks that need no RDMA device: argument validation, enum
// mapping, endpoint validation, batch accessors, descriptor framing.
import { describe, expect, it } from 'vitest';

import { WC_FIELDS, accessMask, accessNames, mtuBytes, mtuEnum } from '../../src/constants.js';
import { SendDescriptors, RecvDescriptors } from '../../src/descriptors.js';
import { CompletionBatch, MemoryRegion, RdmaError, checkEndpoint, cm, listDevices, openDevice } from '../../src/index.js';
import { checkRegistrable } from '../../src/mr.js';
import type { ProtectionDomain } from '../../src/pd.js';

describe('constants', () => {
  it('maps access names to bits and back', () => {
    const mask = accessMask('t', ['LOCAL_WRITE', 'REMOTE_READ']);
    expect(accessNames(mask)).toEqual(['LOCAL_WRITE', 'REMOTE_READ']);
    expect(() => accessMask('t', ['WRITE' as never])).toThrow(/unknown access 'WRITE'/);
    expect(() => accessMask('t', 'LOCAL_WRITE' as never)).toThrow(TypeError);
  });

  it('maps MTU bytes to the ibv enum and back', () => {
    for (const b of [256, 512, 1024, 2048, 4096]) expect(mtuBytes(mtuEnum(b))).toBe(b);
    expect(() => mtuEnum(1500)).toThrow(RangeError);
  });
});

describe('devices without hardware', () => {
  it('listDevices returns an array (empty without RDMA support)', () => {
    expect(Array.isArray(listDevices())).toBe(true);
  });

  it('openDevice rejects bad names with clear errors', () => {
    expect(() => openDevice(5 as never)).toThrow(TypeError);
    let err: unknown;
    try {
      openDevice('definitely-not-a-device');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RdmaError);
    expect(err).toMatchObject({ syscall: expect.stringMatching(/^ibv_/), code: expect.stringMatching(/^E[A-Z]+$/) });
  });
});

describe('checkEndpoint', () => {
  const good = { qpn: 17, psn: 0x123456, gid: '0000:0000:0000:0000:0000:ffff:0a09:0001', lid: 0, port: 1, mtu: 1024 };
  it('accepts a JSON round-tripped endpoint', () => {
    expect(checkEndpoint('t', JSON.parse(JSON.stringify(good)))).toEqual(good);
  });
  it('rejects out-of-range or malformed fields', () => {
    for (const patch of [{ qpn: 0 }, { qpn: 1 << 24 }, { psn: -1 }, { gid: 'nope' }, { gid: 7 }, { mtu: 1500 }, { port: 0 }, { lid: 70000 }]) {
      expect(() => checkEndpoint('t', { ...good, ...patch }), JSON.stringify(patch)).toThrow();
    }
    expect(() => checkEndpoint('t', null)).toThrow(TypeError);
  });
});

describe('CompletionBatch', () => {
  it('reads entries from the typed arrays', () => {
    const b = new CompletionBatch(4);
    expect(b.fields.length).toBe(4 * WC_FIELDS);
    b.ids[1] = 99n;
    b.fields[WC_FIELDS + 0] = 5; // WR_FLUSH_ERR
    b.fields[WC_FIELDS + 1] = 128; // RECV
    b.fields[WC_FIELDS + 3] = 42;
    b.count = 2;
    expect(b.get(1)).toMatchObject({ id: 99n, status: 'WR_FLUSH_ERR', ok: false, opcode: 'RECV', byteLen: 42, imm: undefined });
    expect(() => b.get(2)).toThrow(RangeError);
    expect(() => new CompletionBatch(0)).toThrow(RangeError);
  });

  it('carries the UD receive fields ibv_create_ah_from_wc needs', () => {
    const b = new CompletionBatch(1);
    b.fields.set([0, 128, 0, 296, 0, 7, 9, 1, 3, 0x1234, 5, 2]);
    b.count = 1;
    expect(b.get(0)).toMatchObject({ qpNum: 7, srcQp: 9, wcFlags: 1, pkeyIndex: 3, slid: 0x1234, sl: 5, dlidPathBits: 2 });
  });
});

describe('cm argument checks (before any device is touched)', () => {
  it('rejects bad types, ports, private data and timeouts with TypeError/RangeError', async () => {
    const pd = {} as ProtectionDomain;
    await expect(cm.connect({ host: '10.0.0.1', port: 1, pd, qp: {} as never, type: 'UC' as never })).rejects.toThrow(RangeError);
    await expect(cm.connect({ host: '10.0.0.1', port: 70000, pd, qp: {} as never })).rejects.toThrow(RangeError);
    await expect(cm.connect({ host: '10.0.0.1', port: 1, pd, qp: {} as never, privateData: Buffer.alloc(56) })).rejects.toThrow(/at most 55/);
    await expect(cm.connect({ host: '10.0.0.1', port: 1, pd, qp: {} as never, type: 'UD', privateData: Buffer.alloc(180) })).rejects.toThrow(/at most 179/);
    await expect(cm.connect({ host: '10.0.0.1', port: 1, pd, qp: {} as never, privateData: 'text' as never })).rejects.toThrow(TypeError);
    await expect(cm.connect({ host: '10.0.0.1', port: 1, pd, qp: {} as never, timeoutMs: 0 })).rejects.toThrow(RangeError);
    await expect(cm.connect({ host: '', port: 1, pd, qp: {} as never })).rejects.toThrow(TypeError);
    await expect(cm.listen({ port: 0, type: 'RD' as never })).rejects.toThrow(RangeError);
    await expect(cm.listen({ port: 0, backlog: -1 })).rejects.toThrow(RangeError);
  });
});

describe('checkRegistrable', () => {
  it('refuses pooled slices unless allowed, resizable and empty buffers', () => {
    const pooled = Buffer.from('hello');
    expect(() => checkRegistrable('ibv_reg_mr', pooled, {})).toThrow(/shared Buffer pool/);
    expect(() => checkRegistrable('ibv_reg_mr', pooled, { allowPooled: true })).not.toThrow();
    expect(() => checkRegistrable('ibv_reg_mr', Buffer.allocUnsafeSlow(16), {})).not.toThrow();
    const resizable = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(8, { maxByteLength: 16 });
    expect(() => checkRegistrable('ibv_reg_mr', resizable, {})).toThrow(/resizable/);
    expect(() => checkRegistrable('ibv_reg_mr', new Uint8Array(new ArrayBuffer(8), 8), {})).toThrow(RangeError);
    expect(() => checkRegistrable('ibv_reg_mr', 'str', {})).toThrow(TypeError);
  });
});

describe('descriptor framing', () => {
  // A stand-in region: only the fields the encoder reads (no device here).
  const pd = {} as ProtectionDomain;
  const mr = Object.assign(Object.create(MemoryRegion.prototype) as MemoryRegion, {
    pd,
    address: 0x7f00_0000_1000n,
    length: 4096,
    lkey: 0x1234,
    _native: { closed: false },
  });

  it('lays out a send WR as the addon reads it', () => {
    const d = new SendDescriptors(4, 2);
    expect(d.slotBytes).toBe(64 + 2 * 24);
    d.write('t', 1, { id: 7n, opcode: 'RDMA_WRITE_WITH_IMM', imm: 9, sg: [{ mr, offset: 16, length: 100 }], remote: { address: 0x5000n, rkey: 77, offset: 8 } }, pd, 0);
    const w = d.slotBytes / 8;
    const h = d.slotBytes / 4;
    expect(d.u64[w]).toBe(7n);
    expect(d.u64[w + 1]).toBe(0x5000n);
    expect(d.f64[w + 7]).toBe(8);
    expect(d.u32[h + 9]! & 2).toBe(2); // SIGNALED
    expect(d.u32[h + 10]).toBe(9);
    expect(d.u32[h + 11]).toBe(77);
    expect(d.u32[h + 12]).toBe(1);
    expect(d.u64[w + 8]).toBe(0x7f00_0000_1000n);
    expect(d.f64[w + 9]).toBe(16);
    expect(d.u32[h + 20]).toBe(100);
    expect(d.u32[h + 21]).toBe(0x1234);
  });

  it('rejects SGEs outside the region, foreign PDs, and too many SGEs', () => {
    const d = new RecvDescriptors(2, 1);
    expect(() => d.write('t', 0, { sg: [{ mr, offset: 4000, length: 97 }] }, pd)).toThrow(RangeError);
    expect(() => d.write('t', 0, { sg: [{ mr }, { mr }] }, pd)).toThrow(/allows 1/);
    expect(() => d.write('t', 0, { sg: [{ mr }] }, {} as ProtectionDomain)).toThrow(/another protection domain/);
    d.write('t', 1, { id: 3n, sg: [{ mr, offset: 96 }] }, pd);
    expect(d.u32[(d.slotBytes >> 2) + 2]).toBe(1);
    expect(d.u32[((d.slotBytes + 16) >> 2) + 4]).toBe(4000);
  });
});
