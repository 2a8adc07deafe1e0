/**
 * `rdmajs-bench sdp`: stream-socket benchmark in rstream's terms, run over
 * `@rdmajs/sdp` or Node's `net` (same code, either transport).
 *
 *   rdmajs-bench sdp [--transport sdp|net] [-p port]                  # server
 *   rdmajs-bench sdp 10.9.0.1 -S 64 -C 1000                          # ping-pong
 *   rdmajs-bench sdp 10.9.0.1 --stream -S 65536 -C 2048              # one-way stream
 *
 * Ping-pong reports rstream's figure, microseconds per transfer = half a
 * round trip (`usec / count / 2`). Streaming writes `count` writes of `size`
 * bytes and reports MiB/s from the first write to the server's
 * acknowledgement of the last byte.
 * @module
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';

import * as sdp from '@rdmajs/sdp';

import type { SdpBenchOptions } from './options.js';

export { SDP_USAGE, parseSdpArgs, type SdpBenchOptions } from './options.js';

const HEADER_BYTES = 13; // mode(1) size(4) count(8): the client tells the server the test

function listen(o: SdpBenchOptions, onSocket: (s: Duplex) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const server =
      o.transport === 'sdp' ? sdp.createServer({ ringSize: o.ringSize, busyPollUs: o.busyPollUs, zeroCopyThreshold: o.zeroCopyThreshold, noDelay: true }, onSocket) : net.createServer({ noDelay: true }, onSocket);
    server.once('error', reject);
    (server as net.Server).listen(o.port, '0.0.0.0', () => {
      process.stderr.write(`rdmajs-bench sdp: ${o.transport} server on port ${o.port}\n`);
      resolve();
    });
  });
}

/** Serves clients one after another: echoes ping-pong, acknowledges streams. */
export async function serveSdp(o: SdpBenchOptions): Promise<void> {
  await listen(o, (s) => {
    let header: Buffer | undefined = Buffer.alloc(0);
    let mode = 0;
    let size = 0;
    let pending = 0;
    let reply: Buffer | undefined;
    let streamed = 0;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      if (header) {
        header = Buffer.concat([header, d]);
        if (header.length < HEADER_BYTES) return;
        mode = header[0]!;
        size = header.readUInt32LE(1);
        reply = Buffer.alloc(size, 0x5a);
        d = header.subarray(HEADER_BYTES);
        header = undefined;
      }
      if (mode === 1) {
        streamed += d.length;
        return;
      }
      pending += d.length;
      while (pending >= size) {
        pending -= size;
        s.write(reply!);
      }
    });
    s.on('end', () => {
      if (mode === 1) {
        const ack = Buffer.alloc(8);
        ack.writeBigUInt64LE(BigInt(streamed));
        s.end(ack);
      } else s.end();
    });
  });
  await new Promise(() => undefined); // until killed
}

export interface SdpBenchResult {
  transport: 'sdp' | 'net';
  test: 'pingpong' | 'stream';
  size: number;
  count: number;
  /** Ping-pong: transfers before the clock started. */
  warmup?: number;
  /** Ping-pong: microseconds per transfer (half a round trip), as rstream prints. */
  usecPerXfer?: number;
  /** Streaming: MiB/s. */
  mibPerSec?: number;
  seconds: number;
}

function connect(o: SdpBenchOptions): Promise<Duplex> {
  // Ping-pong sends each message at once; a stream lets writes batch (both transports).
  const noDelay = !o.stream;
  return new Promise((resolve, reject) => {
    const s =
      o.transport === 'sdp'
        ? sdp.connect({ host: o.host!, port: o.port, ringSize: o.ringSize, busyPollUs: o.busyPollUs, zeroCopyThreshold: o.zeroCopyThreshold, noDelay })
        : net.connect({ host: o.host!, port: o.port, noDelay });
    s.once('error', reject);
    s.once('connect', () => resolve(s));
  });
}

/** Runs one test against a server and returns the figure. */
export async function runSdpClient(o: SdpBenchOptions): Promise<SdpBenchResult> {
  const s = await connect(o);
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = o.stream ? 1 : 0;
  header.writeUInt32LE(o.size, 1);
  header.writeBigUInt64LE(BigInt(o.count), 5);
  s.write(header);
  const payload = Buffer.alloc(o.size, 0xa5);
  const result: SdpBenchResult = { transport: o.transport, test: o.stream ? 'stream' : 'pingpong', size: o.size, count: o.count, seconds: 0 };
  if (o.stream) {
    const t0 = performance.now();
    const acked = new Promise<bigint>((resolve, reject) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.once('end', () => resolve(Buffer.concat(parts).readBigUInt64LE(0)));
      s.once('error', reject);
    });
    for (let i = 0; i < o.count; i++) {
      if (!s.write(payload)) await new Promise((r) => s.once('drain', r));
    }
    s.end();
    const bytes = await acked;
    const secs = (performance.now() - t0) / 1000;
    if (bytes !== BigInt(o.size) * BigInt(o.count)) throw new Error(`server got ${bytes} bytes, sent ${o.size * o.count}`);
    result.seconds = secs;
    result.mibPerSec = (o.size * o.count) / 1048576 / secs;
  } else {
    const warmup = o.warmup ?? Math.min(100, Math.ceil(o.count / 10));
    result.warmup = warmup;
    let got = 0;
    let done = 0;
    let t0 = 0;
    const finished = new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.on('data', (d: Buffer) => {
        got += d.length;
        while (got >= o.size) {
          got -= o.size;
          done++;
          if (done === warmup) t0 = performance.now();
          if (done === warmup + o.count) return resolve();
          s.write(payload);
        }
      });
    });
    if (warmup === 0) t0 = performance.now();
    s.write(payload);
    await finished;
    const usec = (performance.now() - t0) * 1000;
    result.seconds = usec / 1e6;
    result.usecPerXfer = usec / o.count / 2;
    s.end();
  }
  s.destroy();
  return result;
}

export function formatSdpResult(r: SdpBenchResult): string {
  const figure = r.test === 'stream' ? `${r.mibPerSec!.toFixed(1)} MiB/s` : `${r.usecPerXfer!.toFixed(2)} usec/xfer`;
  return `${r.transport} ${r.test} ${r.size} B x ${r.count}: ${figure} (${r.seconds.toFixed(2)} s)`;
}
