// Shared by the SDP device tests: the device's IP, the two transports the
// contract suite runs against, and bounded waits.
import { createCipheriv, createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';

import { openDevice } from '@rdmajs/verbs';

import * as sdp from '../../src/index.js';

/** The RoCE IPv4 address of the first device (10.9.0.1 in the testbed). */
export function deviceIp(): string {
  using ctx = openDevice();
  const ip = ctx.defaultGid(1).ip;
  if (!ip) throw new Error(`${ctx.name} has no IPv4 GID: SDP needs an IP address (rdma_cm)`);
  return ip;
}

/** A socket transport with net's API. */
export interface Transport {
  name: 'net' | 'sdp';
  createServer(options: Record<string, unknown>, onConnection?: (s: Duplex) => void): net.Server | sdp.Server;
  connect(options: Record<string, unknown>, listener?: () => void): net.Socket | sdp.SdpSocket;
}

export const transports: Transport[] = [
  {
    name: 'net',
    createServer: (o, cb) => net.createServer(o, cb as (s: net.Socket) => void),
    connect: (o, cb) => net.connect(o as net.NetConnectOpts, cb),
  },
  {
    name: 'sdp',
    createServer: (o, cb) => sdp.createServer(o, cb as (s: sdp.SdpSocket) => void),
    connect: (o, cb) => sdp.connect(o as unknown as sdp.ConnectOptions, cb),
  },
];

/** Resolves with the event's arguments; rejects on 'error' or after `ms`. */
export function once<T = unknown>(emitter: EventEmitter, event: string, ms = 30_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no '${event}' within ${ms} ms`));
    }, ms);
    const onEvent = (...args: T[]) => {
      cleanup();
      resolve(args);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event !== 'error') emitter.off('error', onError);
    };
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  });
}

/** Collects everything until 'end' (bounded). */
export function readAll(s: Duplex, ms = 120_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return once(s, 'end', ms).then(() => Buffer.concat(chunks));
}

/** SHA-256 of everything until 'end', and the byte count. */
export function hashAll(s: Duplex, ms = 600_000): Promise<{ hex: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  s.on('data', (d: Buffer) => {
    h.update(d);
    bytes += d.length;
  });
  return once(s, 'end', ms).then(() => ({ hex: h.digest('hex'), bytes }));
}

/**
 * Deterministic pseudo-random bytes (the same for the same seed, in any
 * process): the AES-256-CTR keystream under the seed's SHA-256. One native
 * call per buffer: under emulation, hashing counters one 32-byte block at a
 * time took ~3 s per MiB and starved the event loop of concurrent tests.
 */
export function pattern(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** Writes `block` `times` times honouring backpressure, then ends. */
export async function writeAll(s: Duplex, block: Buffer, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    if (!s.write(block)) await once(s, 'drain', 120_000);
  }
  s.end();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
