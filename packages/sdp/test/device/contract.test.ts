// The net.Socket contract, run against Node's own `net` (TCP) and against
// `@rdmajs/sdp` over RDMA on the same device: any deviation of SDP from
// Node's semantics shows up as one transport failing.
import { afterEach, describe, expect, it } from 'vitest';

import type { Duplex } from 'node:stream';

import { deviceIp, once, readAll, sleep, transports, writeAll } from './helpers.js';

const ip = deviceIp();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.each(transports)('net.Socket contract over $name', (t) => {
  type Server = ReturnType<typeof t.createServer>;

  async function listen(options: Record<string, unknown> = {}, onConnection?: (s: Duplex) => void): Promise<{ server: Server; port: number }> {
    const server = t.createServer(options, onConnection);
    (server as { listen(port: number, host: string): void }).listen(0, ip);
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
    const port = (server.address() as { port: number }).port;
    return { server, port };
  }

  async function connect(port: number, options: Record<string, unknown> = {}) {
    const socket = t.connect({ host: ip, port, ...options });
    cleanups.push(() => socket.destroy());
    await once(socket, 'connect');
    return socket;
  }

  function nextConnection(server: Server): Promise<Duplex> {
    return once<Duplex>(server, 'connection').then(([s]) => {
      cleanups.push(() => s!.destroy());
      return s!;
    });
  }

  it('echoes, with connect/ready/data/end/close in order and addresses filled in', async () => {
    const { server, port } = await listen({}, (s) => s.pipe(s));
    const events: string[] = [];
    const socket = t.connect({ host: ip, port });
    cleanups.push(() => socket.destroy());
    for (const e of ['connect', 'ready', 'end', 'finish']) socket.on(e, () => events.push(e));
    socket.on('close', (hadError: boolean) => events.push(`close:${hadError}`));
    expect(socket.connecting).toBe(true);
    socket.write('hello '); // before connecting: buffered
    await once(socket, 'connect');
    expect(socket.connecting).toBe(false);
    expect(socket.remoteAddress).toBe(ip);
    expect(socket.remotePort).toBe(port);
    expect(socket.remoteFamily).toBe('IPv4');
    expect(socket.address()).toMatchObject({ address: ip, family: 'IPv4' });
    expect((server.address() as { port: number }).port).toBe(port);
    const all = readAll(socket);
    socket.end('world');
    expect((await all).toString()).toBe('hello world');
    await once(socket, 'close');
    expect(events).toEqual(['connect', 'ready', 'finish', 'end', 'close:false']);
    expect(socket.bytesRead).toBe(11);
    expect(socket.bytesWritten).toBe(11);
    expect(socket.destroyed).toBe(true);
  });

  it('delivers writes of every size class exactly (1 B to 8 MiB, odd sizes)', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port);
    const received = readAll(await accepted);
    const sizes = [1, 2, 3, 7, 100, 1000, 4095, 4096, 4097, 65535, 65536, 65537, 100_003, 262_149, (1 << 20) + 3, 8 << 20];
    const parts = sizes.map((n, i) => Buffer.alloc(n, (i * 37 + 11) & 0xff));
    for (let i = 0; i < parts.length; i++) parts[i]![0] = i; // distinct first bytes catch reordering
    for (const p of parts) if (!socket.write(p)) await once(socket, 'drain');
    socket.end();
    const got = await received;
    const want = Buffer.concat(parts);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
  });

  it('half-closes: with allowHalfOpen the server still writes after the client ended', async () => {
    const { server, port } = await listen({ allowHalfOpen: true });
    const accepted = nextConnection(server);
    const socket = await connect(port);
    const s = await accepted;
    const serverGot = readAll(s);
    const clientGot = readAll(socket);
    socket.end('request');
    expect((await serverGot).toString()).toBe('request');
    expect(s.writable).toBe(true); // half-open: our direction still open
    s.write('reply ');
    await sleep(50);
    s.end('after end');
    expect((await clientGot).toString()).toBe('reply after end');
    await Promise.all([once(s, 'close'), once(socket, 'close')]);
  });

  it('half-closes: without allowHalfOpen the server ends as soon as the client does', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port, { allowHalfOpen: true });
    const s = await accepted;
    s.resume();
    const serverClosed = once(s, 'close');
    const clientEnded = readAll(socket);
    socket.end();
    expect((await clientEnded).length).toBe(0);
    await serverClosed;
    expect(s.writable).toBe(false);
  });

  it('write() returns false past the high-water mark and drain follows once the reader catches up', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port, { writableHighWaterMark: 256 * 1024 });
    const s = await accepted;
    s.pause();
    const chunk = Buffer.alloc(64 * 1024, 7);
    let writes = 0;
    let maxBuffered = 0;
    while (socket.write(chunk)) {
      writes++;
      maxBuffered = Math.max(maxBuffered, socket.writableLength);
      if (writes % 16 === 0) await sleep(1); // let the transport move data
      if (writes > 100_000) throw new Error('write() never returned false');
    }
    // Ignoring the signal is the caller's choice; honouring it bounds the buffer.
    expect(socket.writableLength).toBeGreaterThanOrEqual(socket.writableHighWaterMark);
    expect(socket.writableLength).toBeLessThanOrEqual(socket.writableHighWaterMark + chunk.length);
    const drained = once(socket, 'drain');
    const total = (writes + 1) * chunk.length;
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.resume();
    await drained;
    socket.end();
    await once(s, 'end');
    expect(got).toBe(total);
  });

  it('pause() stops data events and resume() brings every byte', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port);
    const s = await accepted;
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    socket.write(Buffer.alloc(1000));
    while (got < 1000) await sleep(5);
    s.pause();
    socket.write(Buffer.alloc(5000));
    await sleep(300);
    expect(got).toBe(1000);
    s.resume();
    socket.end();
    await once(s, 'end');
    expect(got).toBe(6000);
  });

  it('is async-iterable', async () => {
    const { port } = await listen({}, (s) => s.end(Buffer.alloc(300_000, 1)));
    const socket = await connect(port);
    let n = 0;
    for await (const chunk of socket) n += (chunk as Buffer).length;
    expect(n).toBe(300_000);
  });

  it('destroy() mid-transfer resets the peer (ECONNRESET) and both sides close', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port);
    const s = await accepted;
    const serverError = once<Error>(s, 'error', 30_000).catch((e: Error) => e);
    const serverClosed = new Promise<boolean>((resolve) => s.once('close', resolve));
    const block = Buffer.alloc(64 * 1024, 3);
    let writing = true;
    void (async () => {
      while (writing && !s.destroyed) if (!s.write(block)) await once(s, 'drain').catch(() => undefined);
    })();
    let got = 0;
    await new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 1 << 20) resolve();
      }),
    );
    const clientClosed = new Promise<boolean>((resolve) => socket.once('close', resolve));
    socket.destroy();
    expect(await clientClosed).toBe(false);
    const [err] = (await serverError) as unknown as [Error & { code: string }];
    writing = false;
    // A reset; or, when the peer's FIN is seen first, EPIPE for the next
    // write (net's writeAfterFIN), whichever comes first, as for net.
    expect(['ECONNRESET', 'EPIPE']).toContain(err.code);
    expect(await serverClosed).toBe(true);
  });

  it('resetAndDestroy() makes the peer fail with ECONNRESET', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port);
    const s = await accepted;
    s.resume();
    let error: (Error & { code: string }) | undefined;
    s.on('error', (e: Error & { code: string }) => (error = e));
    const closed = new Promise<boolean>((resolve) => s.once('close', resolve));
    socket.write('x');
    socket.resetAndDestroy();
    const hadError = await Promise.race([closed, sleep(30_000).then(() => 'timeout')]);
    if (t.name === 'sdp' || error) {
      expect(hadError).toBe(true);
      expect(error?.code).toBe('ECONNRESET');
    }
    // (net over this link sometimes closes quietly: the RST races the read.)
  });

  it('connecting to a port nobody listens on fails with ECONNREFUSED', async () => {
    const { server, port } = await listen();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const socket = t.connect({ host: ip, port });
    cleanups.push(() => socket.destroy());
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const [err] = await once<Error & { code: string; syscall: string }>(socket, 'error');
    expect(err).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect', address: ip, port });
    await closed;
  });

  it('a taken port fails listen with EADDRINUSE on the server', async () => {
    const { port } = await listen();
    const second = t.createServer({});
    (second as { listen(port: number, host: string): void }).listen(port, ip);
    const [err] = await once<Error & { code: string }>(second, 'error');
    expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'listen' });
    expect(second.listening).toBe(false);
  });

  it('emits timeout after idle time without closing', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port);
    const s = await accepted;
    const t0 = Date.now();
    socket.setTimeout(200);
    expect(socket.timeout).toBe(200);
    await once(socket, 'timeout', 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(socket.destroyed).toBe(false);
    socket.setTimeout(0);
    s.write('still alive');
    const [d] = await once<Buffer>(socket, 'data');
    expect(String(d)).toBe('still alive');
  });

  it('server.close() stops accepting, waits for open connections, then emits close', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port);
    const s = await accepted;
    const count = await new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    expect(count).toBe(1);
    let closed = false;
    server.close(() => (closed = true));
    expect(server.listening).toBe(false);
    await sleep(200);
    expect(closed).toBe(false); // a connection is still open
    s.end();
    socket.end();
    await once(server, 'close');
    await sleep(0);
    expect(closed).toBe(true);
    const err = await new Promise<Error | undefined>((resolve) => server.close((e) => resolve(e)));
    expect(err).toMatchObject({ code: 'ERR_SERVER_NOT_RUNNING' });
  });

  it('rejects bad arguments like net does', () => {
    expect(() => t.connect({ host: ip, port: 70_000 })).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_PORT' }));
    expect(() => t.connect({ host: ip, port: -1 })).toThrow(RangeError);
    const server = t.createServer({});
    expect(() => (server as { listen(p: number): void }).listen(65_536)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_PORT' }));
  });

  it('write after end() fails with ERR_STREAM_WRITE_AFTER_END', async () => {
    const { port } = await listen({}, (s) => s.resume());
    const socket = await connect(port);
    const emitted = once(socket, 'error').catch((e: Error) => e);
    socket.end();
    const err = await new Promise<Error & { code: string }>((resolve) => socket.write('late', (e) => resolve(e as Error & { code: string })));
    expect((await emitted)[0]).toMatchObject({ code: 'ERR_STREAM_WRITE_AFTER_END' });
    expect(err.code).toBe('ERR_STREAM_WRITE_AFTER_END');
  });

  it('a write after the peer ended (no allowHalfOpen) fails with EPIPE', async () => {
    const { server, port } = await listen();
    const accepted = nextConnection(server);
    const socket = await connect(port);
    const s = await accepted;
    s.resume();
    socket.end();
    await once(s, 'end');
    await sleep(50); // our side is ended for us a tick after 'end'
    expect(s.writableEnded).toBe(true);
    // Both sides ended: the socket is (being) destroyed, so the callback,
    // not an 'error' event, reports it.
    const err = await new Promise<Error & { code: string }>((resolve) => s.write('late', (e) => resolve(e as Error & { code: string })));
    expect(err.code).toBe('EPIPE');
  });
});
