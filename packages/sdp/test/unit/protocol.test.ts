// The wire protocol's pure parts: the handshake record, immediates, and the
// wrapping cursor checks that keep a peer inside our ring.
import { describe, expect, it } from 'vitest';

import { matchFromEnv, matcher } from '../../src/install.js';
import {
  CONTROL_RESERVE,
  HELLO_BYTES,
  HelloError,
  Kind,
  MAX_RING,
  MIN_RING,
  VERSION,
  advance,
  decodeHello,
  dist,
  encodeHello,
  imm,
  immKind,
  immValue,
  validCursor,
  type Hello,
} from '../../src/protocol.js';

const good: Hello = { version: VERSION, flags: 0, ringSize: 1 << 20, ringAddress: 0x7f12_3456_7000n, rkey: 0xdeadbeef, recvCredits: 136 };

describe('handshake record', () => {
  it('round-trips and fits rdma_cm connect private data (55 bytes)', () => {
    const b = encodeHello(good);
    expect(b.length).toBe(HELLO_BYTES);
    expect(b.length).toBeLessThanOrEqual(55);
    expect(decodeHello(b)).toEqual(good);
  });

  it('refuses other protocols, other versions and bad values with a reason', () => {
    const b = encodeHello(good);
    expect(() => decodeHello(Buffer.from('GET / HTTP/1.1'))).toThrow(/bad magic/);
    expect(() => decodeHello(Buffer.alloc(0))).toThrow(HelloError);
    const v2 = Buffer.from(b);
    v2[2] = VERSION + 1;
    let err: unknown;
    try {
      decodeHello(v2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HelloError);
    expect((err as HelloError).versionMismatch).toBe(true);
    expect((err as Error).message).toMatch(/version 2/);
    expect(() => decodeHello(b.subarray(0, HELLO_BYTES - 1))).toThrow(/expected 24/);
    for (const ringSize of [0, 1000, MIN_RING / 2, MIN_RING * 3, MAX_RING * 2]) {
      expect(() => decodeHello(encodeHello({ ...good, ringSize }))).toThrow(/ring size/);
    }
    for (const recvCredits of [0, CONTROL_RESERVE, 65537]) {
      expect(() => decodeHello(encodeHello({ ...good, recvCredits }))).toThrow(/credits/);
    }
    expect(() => decodeHello(encodeHello({ ...good, flags: 1 }))).toThrow(/feature bits/);
  });
});

describe('immediates', () => {
  it('carry a kind in the top 4 bits and a 28-bit value', () => {
    for (const kind of Object.values(Kind)) {
      const i = imm(kind, 12345);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(2 ** 32);
      expect(immKind(i)).toBe(kind);
      expect(immValue(i)).toBe(12345);
    }
    expect(immValue(imm(Kind.DATA, MAX_RING))).toBe(MAX_RING);
    expect(immValue(imm(Kind.DATA, 2 ** 28))).toBe(0); // masked: never more than 28 bits
  });
});

describe('cursors', () => {
  it('wrap at 2^32', () => {
    const near = 2 ** 32 - 10;
    expect(advance(near, 20)).toBe(10);
    expect(dist(10, near)).toBe(20);
    expect(dist(near, near)).toBe(0);
  });

  it('accept only forward moves up to what was given', () => {
    // last seen 100, we have sent up to 300
    expect(validCursor(100, 100, 300)).toBe(true);
    expect(validCursor(250, 100, 300)).toBe(true);
    expect(validCursor(300, 100, 300)).toBe(true);
    expect(validCursor(301, 100, 300)).toBe(false); // beyond what we sent
    expect(validCursor(99, 100, 300)).toBe(false); // backwards
    // across the wrap
    const last = 2 ** 32 - 50;
    expect(validCursor(20, last, 40)).toBe(true);
    expect(validCursor(41, last, 40)).toBe(false);
    expect(validCursor(last - 1, last, 40)).toBe(false);
  });
});

describe('drop-in match patterns', () => {
  it('match host:port with wildcards', () => {
    const m = matcher(['10.9.0.1:8080', '*:7000', 9000, '[fe80::1]:*']);
    expect(m({ host: '10.9.0.1', port: 8080 })).toBe(true);
    expect(m({ host: '10.9.0.2', port: 8080 })).toBe(false);
    expect(m({ host: 'anything', port: 7000 })).toBe(true);
    expect(m({ host: undefined, port: 9000 })).toBe(true);
    expect(m({ host: 'fe80::1', port: 1 })).toBe(true);
    expect(m({ host: '10.9.0.1', port: 80 })).toBe(false);
  });

  it('reject malformed patterns and read RDMAJS_SDP', () => {
    expect(() => matcher(['10.9.0.1'])).toThrow(TypeError);
    expect(() => matcher(['h:port'])).toThrow(/bad port/);
    expect(() => matcher('x' as never)).toThrow(TypeError);
    expect(matchFromEnv('')).toBeUndefined();
    expect(matchFromEnv(' 10.9.0.1:80, *:81 ')).toEqual(['10.9.0.1:80', '*:81']);
  });
});

describe('connection options', () => {
  it('bad tunables throw a TypeError or RangeError naming the call, before any device is touched', async () => {
    const { checkLinkOptions } = await import('../../src/link/options.js');
    const bad: Array<[Record<string, unknown>, RegExp, ErrorConstructor]> = [
      [{ ringSize: 5000 }, /SdpSocket: ringSize must be a power of two in \[4096, 134217728\], got 5000/, RangeError],
      [{ ringSize: 2048 }, /ringSize/, RangeError],
      [{ ringSize: '1M' }, /ringSize must be a number, got \"1M\"/, TypeError],
      [{ recvCredits: CONTROL_RESERVE }, /recvCredits/, RangeError],
      [{ busyPollUs: -1 }, /busyPollUs/, RangeError],
      [{ busyPollUs: 1.5 }, /busyPollUs/, RangeError],
      [{ zeroCopyThreshold: -1 }, /zeroCopyThreshold/, RangeError],
      [{ zeroCopyThreshold: NaN }, /zeroCopyThreshold/, RangeError],
      [{ device: 7 }, /device must be a non-empty string, got 7/, TypeError],
    ];
    for (const [o, re, type] of bad) {
      expect(() => checkLinkOptions('SdpSocket', o as never)).toThrow(re);
      expect(() => checkLinkOptions('SdpSocket', o as never)).toThrow(type);
    }
    expect(() => checkLinkOptions('SdpSocket', { ringSize: 1 << 16, recvCredits: 64, busyPollUs: 0, zeroCopyThreshold: 0 })).not.toThrow();
  });
});
