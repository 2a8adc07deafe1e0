// SDP under load and under attack: big bidirectional streams with checksums,
// many connections at once, flow control with a slow reader, a peer killed
// mid-transfer, and peers that break the protocol on purpose.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { cm, openDevice, type Context } from '@rdmajs/verbs';

import * as sdp from '../../src/index.js';
import { deviceIp, hashAll, once, pattern, readAll, sleep, writeAll } from './helpers.js';

const ip = deviceIp();
const MiB = 1 << 20;
const sdpDist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(options: sdp.ServerOptions = {}, onConnection?: (s: sdp.SdpSocket) => void) {
  const server = sdp.createServer(options, onConnection);
  server.listen(0, ip);
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
  return { server, port: server.address()!.port };
}

function expectedHash(block: Buffer, times: number): string {
  const h = createHash('sha256');
  for (let i = 0; i < times; i++) h.update(block);
  return h.digest('hex');
}

describe('sdp streams under load', () => {
  it('moves 256 MiB both ways at once, SHA-256 verified', async () => {
    const times = Number(process.env.RDMAJS_SDP_BIG_MIB ?? 256);
    const a = pattern('client', MiB);
    const b = pattern('server', MiB);
    const serverGot = new Promise<{ hex: string; bytes: number }>((resolve) => {
      void listen({}, (s) => {
        hashAll(s).then(resolve, () => undefined);
        void writeAll(s, b, times);
      }).then(({ port }) => {
        const c = sdp.connect(port, ip);
        cleanups.push(() => c.destroy());
        clientGot = hashAll(c);
        void writeAll(c, a, times);
      });
    });
    let clientGot: Promise<{ hex: string; bytes: number }> | undefined;
    const t0 = performance.now();
    const fromClient = await serverGot;
    const fromServer = await clientGot!;
    const s = (performance.now() - t0) / 1000;
    console.log(`256 MiB each way at once: ${s.toFixed(1)} s, ${((2 * times) / s).toFixed(1)} MiB/s total`);
    expect(fromClient).toEqual({ hex: expectedHash(a, times), bytes: times * MiB });
    expect(fromServer).toEqual({ hex: expectedHash(b, times), bytes: times * MiB });
  }, 900_000);

  it('tight credits (one data message in flight, a 4 KiB ring) still move small and large writes intact, in order', async () => {
    const tight = { recvCredits: 9, ringSize: 4096 };
    const small = Array.from({ length: 400 }, (_, i) => pattern(`small-${i}`, 1 + (i % 97)));
    const big = pattern('big', 1 << 20);
    const expected = createHash('sha256');
    for (const b of small) expected.update(b);
    for (let i = 0; i < 4; i++) expected.update(big);
    const bytes = small.reduce((n, b) => n + b.length, 0) + 4 * big.length;
    let received!: Promise<{ hex: string; bytes: number }>;
    const { port } = await listen(tight, (s) => {
      received = hashAll(s);
      s.on('data', (d: Buffer) => s.write(d)); // and echo it back through the same tight window
      s.on('end', () => s.end());
    });
    const c = sdp.connect({ port, host: ip, ...tight, noDelay: true });
    cleanups.push(() => c.destroy());
    await once(c, 'connect');
    const echoed = hashAll(c);
    for (const b of small) if (!c.write(b)) await once(c, 'drain');
    await writeAll(c, big, 4);
    const want = { hex: expected.digest('hex'), bytes };
    expect(await received).toEqual(want);
    expect(await echoed).toEqual(want);
  }, 600_000);

  it('a slow reader bounds the sender: its buffer stays within the high-water mark, in flight within one ring', async () => {
    const ringSize = 256 * 1024;
    const hwm = 128 * 1024;
    const accepted = new Promise<sdp.SdpSocket>((resolve) => void listen({ ringSize }, resolve).then(({ port }) => connectTo(port)));
    let client!: sdp.SdpSocket;
    function connectTo(port: number) {
      client = sdp.connect({ port, host: ip, ringSize, writableHighWaterMark: hwm });
      cleanups.push(() => client.destroy());
    }
    const server = await accepted;
    if (client.connecting) await once(client, 'connect');
    const chunk = pattern('slow', 64 * 1024);
    const total = 8 * MiB;
    let maxBuffered = 0;
    let maxInFlight = 0;
    const sample = () => {
      maxBuffered = Math.max(maxBuffered, client.writableLength);
      // Left the sender's stream buffer but not yet read on the other side.
      maxInFlight = Math.max(maxInFlight, client.bytesWritten - client.writableLength - server.bytesRead);
    };
    const writer = (async () => {
      for (let sent = 0; sent < total; sent += chunk.length) {
        sample();
        if (!client.write(chunk)) await once(client, 'drain', 60_000);
      }
      client.end();
    })();
    // The reader takes 64 KiB every 10 ms.
    server.pause();
    const h = createHash('sha256');
    let got = 0;
    const ended = new Promise<void>((resolve) => server.once('end', resolve));
    while (got < total) {
      sample();
      const d = server.read(64 * 1024) as Buffer | null;
      if (d) {
        h.update(d);
        got += d.length;
      } else await sleep(10);
      if (!d && server.readableEnded) break;
    }
    server.read(0);
    await writer;
    await ended;
    expect(got).toBe(total);
    expect(h.digest('hex')).toBe(expectedHash(chunk, total / chunk.length));
    expect(maxBuffered).toBeLessThanOrEqual(hwm + chunk.length);
    // The receiver holds at most its ring plus its readable buffer (one delivery).
    expect(maxInFlight).toBeLessThanOrEqual(ringSize + server.readableHighWaterMark + 64 * 1024);
    console.log(`slow reader: sender buffer max ${maxBuffered} B (hwm ${hwm}), in flight max ${maxInFlight} B (ring ${ringSize})`);
  }, 180_000);

  const CONNS = Number(process.env.RDMAJS_SDP_CONNS ?? 64);
  it(`${CONNS} concurrent connections each move 16 MiB with checksums`, async () => {
    const each = 16;
    // Half-open: the server answers after the client's end.
    const errors: string[] = [];
    let accepted = 0;
    const { port } = await listen({ ringSize: 256 * 1024, allowHalfOpen: true }, (s) => {
      accepted++;
      s.on('error', (e: Error) => errors.push(`server: ${e.message}`));
      s.on('close', (hadError: boolean) => {
        if (s.bytesRead !== each * MiB || hadError) errors.push(`server socket closed (error ${hadError}) after reading ${s.bytesRead}, wrote ${s.bytesWritten}`);
      });
      hashAll(s).then(
        ({ hex, bytes }) => s.end(`${hex} ${bytes}`),
        () => undefined,
      );
    });
    // All connect first (64 handshakes at once), then all stream at once.
    const tc = performance.now();
    const socks = await Promise.all(
      Array.from({ length: CONNS }, async () => {
        const c = sdp.connect({ port, host: ip, ringSize: 256 * 1024, connectTimeout: 60_000 });
        cleanups.push(() => c.destroy());
        await once(c, 'connect', 90_000);
        c.on('error', (e: Error) => errors.push(`client: ${e.message} (wrote ${c.bytesWritten}, read ${c.bytesRead}, ended ${c.writableEnded})`));
        return c;
      }),
    );
    console.log(`${CONNS} connections established in ${((performance.now() - tc) / 1000).toFixed(1)} s`);
    const t0 = performance.now();
    const results = await Promise.all(
      socks.map(async (c, i) => {
        const block = pattern(`conn${i}`, MiB);
        const reply = readAll(c, 600_000);
        await writeAll(c, block, each);
        return { got: (await reply).toString(), want: `${expectedHash(block, each)} ${each * MiB}` };
      }),
    ).finally(() => {
      if (accepted !== CONNS) console.log(`the server accepted ${accepted} of ${CONNS}`);
      if (errors.length > 0) console.log(`errors (${errors.length}):\n${[...new Set(errors)].join('\n')}`);
    });
    const s = (performance.now() - t0) / 1000;
    console.log(`${CONNS} connections x ${each} MiB: ${s.toFixed(1)} s, ${((CONNS * each) / s).toFixed(1)} MiB/s total`);
    for (const r of results) expect(r.got).toBe(r.want);
  }, 900_000);
});

describe('sdp zero-copy sends', () => {
  // A buffer written repeatedly is registered and sent from in place; the
  // write callback must wait until the NIC has read it. Refilling the same
  // buffer right after each callback would corrupt the stream otherwise.
  it('one buffer refilled after every write callback arrives intact (odd sizes, ring wrap-around)', async () => {
    const rounds = 48;
    const buf = Buffer.allocUnsafeSlow(300_002);
    const expected = createHash('sha256');
    let total = 0;
    let received!: Promise<{ hex: string; bytes: number }>;
    const { port } = await listen({ ringSize: 256 * 1024 }, (s) => {
      received = hashAll(s);
    });
    const c = sdp.connect({ port, host: ip, ringSize: 256 * 1024, zeroCopyThreshold: 64 * 1024 });
    cleanups.push(() => c.destroy());
    await once(c, 'connect');
    for (let i = 0; i < rounds; i++) {
      // Sizes around the threshold and the ring's size, from odd offsets.
      const len = [65_536, 65_537, 99_999, 262_145, 300_000][i % 5]!;
      const from = i % 3;
      pattern(`zc-${i}`, len).copy(buf, from);
      const view = buf.subarray(from, from + len);
      expected.update(view);
      total += len;
      await new Promise<void>((resolve, reject) => c.write(view, (err) => (err ? reject(err) : resolve())));
      buf.fill(0xee); // the NIC must be done with the last write by now
    }
    c.end();
    expect(await received).toEqual({ hex: expected.digest('hex'), bytes: total });
    // The first write of the buffer is copied (one-off buffers are not worth
    // registering); every later one goes from the buffer itself.
    expect(c.zeroCopyBytes).toBeGreaterThan(total - 300_000);
    expect(c.zeroCopyBytes).toBeLessThan(total);
  }, 300_000);

  it('zeroCopyThreshold: 0 copies everything; writes under the threshold (default 256 KiB) are copied', async () => {
    const block = pattern('zc-off', 128 * 1024);
    for (const [options, zeroCopied] of [
      [{ zeroCopyThreshold: 0 }, false],
      [{}, false],
      [{ zeroCopyThreshold: 128 * 1024 }, true],
    ] as const) {
      let received!: Promise<{ hex: string; bytes: number }>;
      const { port } = await listen({}, (s) => {
        received = hashAll(s);
      });
      const c = sdp.connect({ port, host: ip, ...options });
      cleanups.push(() => c.destroy());
      await once(c, 'connect');
      await writeAll(c, block, 8);
      expect(await received).toEqual({ hex: expectedHash(block, 8), bytes: 8 * block.length });
      // All but the first write (copied: not registered yet), unless one
      // was caught behind unposted copied bytes.
      if (zeroCopied) expect(c.zeroCopyBytes).toBeGreaterThanOrEqual(6 * block.length);
      if (zeroCopied) expect(c.zeroCopyBytes).toBeLessThanOrEqual(7 * block.length);
      else expect(c.zeroCopyBytes).toBe(0);
    }
  }, 300_000);
});

describe('sdp failure handling', () => {
  it('a peer killed mid-transfer: the other side ends in bounded time with an exact prefix of the data', async () => {
    const block = pattern('kill', MiB);
    const accepted = new Promise<sdp.SdpSocket>((resolve) => void listen({}, resolve).then(({ port }) => start(port)));
    let child: ReturnType<typeof spawn> | undefined;
    function start(port: number) {
      child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
          import * as sdp from ${JSON.stringify(sdpDist)};
          import { createCipheriv, createHash } from 'node:crypto';
          // The same bytes as pattern('kill', MiB) in helpers.ts.
          const c = createCipheriv('aes-256-ctr', createHash('sha256').update('kill').digest(), Buffer.alloc(16));
          const block = Buffer.concat([c.update(Buffer.alloc(${MiB})), c.final()]);
          const s = sdp.connect(${port}, ${JSON.stringify(ip)}, async () => {
            for (;;) if (!s.write(block)) await new Promise((r) => s.once('drain', r));
          });
          s.on('error', () => {});
        `,
        ],
        { stdio: 'ignore' },
      );
      cleanups.push(() => child?.kill('SIGKILL'));
    }
    const server = await accepted;
    let got = 0;
    let mismatch = -1;
    let killedAt = 0;
    let errCode: string | undefined;
    server.on('error', (e: Error & { code: string }) => (errCode = e.code));
    server.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length && mismatch < 0; ) {
        const at = (got + i) % MiB;
        const n = Math.min(d.length - i, MiB - at);
        if (!d.subarray(i, i + n).equals(block.subarray(at, at + n))) mismatch = got + i;
        i += n;
      }
      got += d.length;
      if (got >= 8 * MiB && !killedAt) {
        killedAt = Date.now();
        child!.kill('SIGKILL');
      }
    });
    const closed = new Promise<boolean>((resolve) => server.once('close', resolve));
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(60_000).then(() => 'hung')]);
    expect(outcome).toBe('closed');
    const ms = Date.now() - killedAt;
    console.log(`peer SIGKILLed after ${got} bytes: server socket closed after ${ms} ms with ${errCode ?? 'no error'}`);
    expect(mismatch).toBe(-1);
    expect(got).toBeGreaterThanOrEqual(8 * MiB);
    expect(errCode).toBe('ECONNRESET');
    expect(ms).toBeLessThan(30_000);
  }, 120_000);
});

describe('sdp against a malicious peer', () => {
  let ctx: Context | undefined;
  afterEach(() => {
    ctx?.close();
    ctx = undefined;
  });

  // A hand-made peer speaking raw verbs: it handshakes correctly, then does
  // what it is told.
  async function rawPeer(port: number, hello?: Buffer) {
    ctx ??= openDevice();
    const pd = ctx.allocPd();
    const cq = ctx.createCq({ entries: 64 });
    const ring = pd.allocateMemory(4096 + 8, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const scratch = pd.allocateMemory(64);
    const mine = hello ?? sdp.protocol.encodeHello({ version: 1, flags: 0, ringSize: 4096, ringAddress: ring.address, rkey: ring.rkey, recvCredits: 16 });
    const conn = await cm.connect({
      host: ip,
      port,
      pd,
      qp: { sendCq: cq, cap: { maxSendWr: 16, maxRecvWr: 16, maxInlineData: 8 } },
      privateData: mine,
      prepare: (qp) => qp.postRecv(Array.from({ length: 16 }, () => ({ id: 0n }))),
    });
    cleanups.push(() => conn.close());
    return { conn, peer: sdp.protocol.decodeHello(conn.remotePrivateData), scratch };
  }

  async function expectViolation(attack: (raw: Awaited<ReturnType<typeof rawPeer>>) => void, what: RegExp) {
    const errors: Array<Error & { code: string }> = [];
    const accepted = new Promise<sdp.SdpSocket>((resolve) => {
      void listen({}, (s) => {
        s.on('error', (e: Error & { code: string }) => errors.push(e));
        s.resume();
        resolve(s);
      }).then(async ({ port }) => {
        const raw = await rawPeer(port);
        await accepted;
        attack(raw);
        healthy = port;
      });
    });
    let healthy = 0;
    const s = await accepted;
    const closed = await Promise.race([new Promise((r) => s.once('close', r)).then(() => true), sleep(30_000).then(() => false)]);
    expect(closed).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'EPROTO' });
    expect(errors[0]!.message).toMatch(what);
    // The server is unharmed and serves the next (honest) client.
    while (!healthy) await sleep(10);
    const c = sdp.connect(healthy, ip);
    cleanups.push(() => c.destroy());
    await once(c, 'connect');
  }

  it('a DATA length beyond the ring ends the connection (EPROTO), nothing read outside the ring', async () => {
    await expectViolation(({ conn, peer }) => {
      conn.qp.postSend({
        opcode: 'RDMA_WRITE_WITH_IMM',
        sg: [],
        remote: { address: peer.ringAddress, rkey: peer.rkey },
        imm: sdp.protocol.imm(sdp.protocol.Kind.DATA, peer.ringSize + 1),
      });
    }, /does not fit the ring/);
  });

  it('a credit cursor beyond what we sent ends the connection (EPROTO)', async () => {
    await expectViolation(({ conn, peer, scratch }) => {
      scratch.buffer.writeUInt32LE(0xdead_0000, 0);
      scratch.buffer.writeUInt32LE(3, 4);
      conn.qp.postSend([
        { opcode: 'RDMA_WRITE', sg: [{ mr: scratch, length: 8 }], remote: { address: peer.ringAddress, rkey: peer.rkey, offset: peer.ringSize } },
        { opcode: 'SEND_WITH_IMM', sg: [], imm: sdp.protocol.imm(sdp.protocol.Kind.CREDIT) },
      ]);
    }, /credit word out of range/);
  });

  it('DATA sent as a SEND, or an unknown message kind, ends the connection (EPROTO)', async () => {
    await expectViolation(({ conn }) => {
      conn.qp.postSend({ opcode: 'SEND_WITH_IMM', sg: [], imm: sdp.protocol.imm(sdp.protocol.Kind.DATA, 10) });
    }, /DATA arrived as a SEND/);
    await expectViolation(({ conn }) => {
      conn.qp.postSend({ opcode: 'SEND_WITH_IMM', sg: [], imm: (9 << 28) >>> 0 });
    }, /unknown message kind 9/);
  });

  it('a peer speaking another protocol version is refused with ECONNREFUSED and a reason', async () => {
    const { port } = await listen({}, () => {
      throw new Error('must not be accepted');
    });
    const hello = sdp.protocol.encodeHello({ version: 1, flags: 0, ringSize: 4096, ringAddress: 0n, rkey: 0, recvCredits: 16 });
    hello[2] = 2;
    const err = (await rawPeer(port, hello).catch((e: unknown) => e)) as Error & { code: string; rejectData: Buffer };
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.rejectData.toString()).toMatch(/version 2/);
  });
});
