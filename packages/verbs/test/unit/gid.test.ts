import { describe, expect, it } from 'vitest';

import { formatGid, parseGid } from '../../src/gid.js';

describe('GID text', () => {
  it('formats as eight groups and parses back', () => {
    const raw = Buffer.from('00000000000000000000ffff0a090001', 'hex');
    expect(formatGid(raw)).toBe('0000:0000:0000:0000:0000:ffff:0a09:0001');
    expect(parseGid(formatGid(raw)).equals(raw)).toBe(true);
  });

  it('parses compressed IPv6 and v4-mapped forms', () => {
    expect(parseGid('::ffff:10.9.0.1').toString('hex')).toBe('00000000000000000000ffff0a090001');
    expect(parseGid('fe80::1').toString('hex')).toBe('fe800000000000000000000000000001');
    expect(parseGid('::').equals(Buffer.alloc(16))).toBe(true);
    expect(parseGid('FE80:0:0:0:0:0:0:2').toString('hex')).toBe('fe800000000000000000000000000002');
  });

  it('rejects what is not a GID', () => {
    for (const bad of ['', '1:2:3', 'fe80::1::2', 'g::1', '1:2:3:4:5:6:7:8:9', '::ffff:300.1.1.1', '12345::']) {
      expect(() => parseGid(bad), bad).toThrow(RangeError);
    }
    expect(() => parseGid(5 as never)).toThrow(TypeError);
    expect(() => formatGid(new Uint8Array(15))).toThrow(TypeError);
  });
});
