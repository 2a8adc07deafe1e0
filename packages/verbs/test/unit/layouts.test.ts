// The record layouts the addon exports (declared once in native/src/layouts.h)
// and the TS encoders that index by their names. (adviseMemory's argument
// checks need a real PD: packages/verbs/test/device/advise.test.ts.)
import { describe, expect, it } from 'vitest';

import { RECV_SLOT, SEND_SLOT, SGE, WC_FIELD, WC_FIELDS } from '../../src/constants.js';
import { SendDescriptors, SlotEditor } from '../../src/descriptors.js';
import { MemoryRegion, type ProtectionDomain } from '../../src/index.js';
import { native } from '../../src/native.js';

describe('record layouts from the addon', () => {
  it('are named, aligned and consistent with the flat aliases', () => {
    const c = native.constants;
    expect(SEND_SLOT.BYTES).toBe(c.SEND_HEADER_BYTES);
    expect(RECV_SLOT.BYTES).toBe(c.RECV_HEADER_BYTES);
    expect(SGE.BYTES).toBe(c.SGE_BYTES);
    expect(WC_FIELDS).toBe(WC_FIELD.COUNT);
    for (const k of ['WR_ID', 'REMOTE_ADDR', 'COMPARE_ADD', 'SWAP', 'REMOTE_OFFSET'] as const) expect(SEND_SLOT[k] % 8).toBe(0);
    for (const k of ['OPCODE', 'FLAGS', 'IMM', 'RKEY', 'NUM_SGE', 'AH_ID', 'REMOTE_QPN', 'REMOTE_QKEY'] as const) {
      expect(SEND_SLOT[k] % 4).toBe(0);
      expect(SEND_SLOT[k]).toBeLessThan(SEND_SLOT.BYTES);
    }
    expect(new Set(Object.values(WC_FIELD)).size).toBe(WC_FIELD.COUNT + 1);
  });

  it('SlotEditor edits the fields SendDescriptors wrote, by name', () => {
    const pd = {} as ProtectionDomain;
    const mr = Object.assign(Object.create(MemoryRegion.prototype) as MemoryRegion, { pd, address: 0x1000n, length: 256, lkey: 5, _native: { closed: false } });
    const d = new SendDescriptors(2, 1);
    d.write('t', 1, { id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr, offset: 8, length: 16 }], remote: { address: 0x9000n, rkey: 3 } }, pd, 0);
    const e = new SlotEditor(d);
    e.setId(1, 42n);
    e.setRemoteOffset(1, 24);
    e.setSge(1, 0, 32, 64);
    const at = d.slotBytes;
    expect(d.u64[(at + SEND_SLOT.WR_ID) >> 3]).toBe(42n);
    expect(d.f64[(at + SEND_SLOT.REMOTE_OFFSET) >> 3]).toBe(24);
    expect(d.u32[(at + SEND_SLOT.RKEY) >> 2]).toBe(3);
    expect(d.u32[(at + SEND_SLOT.NUM_SGE) >> 2]).toBe(1);
    expect(d.f64[(at + SEND_SLOT.BYTES + SGE.OFFSET) >> 3]).toBe(32);
    expect(d.u32[(at + SEND_SLOT.BYTES + SGE.LENGTH) >> 2]).toBe(64);
    expect(e.sgeLength(1, 0)).toBe(64);
  });
});
