// The TCP rendezvous in one process: allgather for 1, 2 and 5 ranks (ranks
// started before rank 0 too), several rounds and a barrier, and every
// failure bounded and named: a missing rank, no root, a duplicate rank, a
// size mismatch, garbage on the wire, a rank or the root dying, an abort.
// Each test checks that no socket or server is left open.
import { createServer, connect, type Socket } from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { formatHostPort, formatRanks } from '../../src/bootstrap/format.js';
import { FrameDecoder, encodeFrame } from '../../src/bootstrap/frame.js';
import { exchange, openRendezvous, type Rendezvous } from '../../src/bootstrap/rendezvous.js';
import { MpError } from '../../src/errors.js';
import { freePort } from '../../src/launch/root.js';
import type { HostPort } from '../../src/types.js';

/** Polls `cond` on the event loop, bounded (5 s). */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const HOST = '127.0.0.1';

/** Open TCP handles (sockets, servers) and timers of this process. */
function handles(): { tcp: number; timers: number } {
  const open = process.getActiveResourcesInfo();
  return { tcp: open.filter((r) => r.startsWith('TCP')).length, timers: open.filter((r) => r === 'Timeout').length };
}

let baseline = handles();
beforeEach(() => {
  baseline = handles();
});
afterEach(async () => {
  // Nothing left open: no socket or server, no timer (vitest's own may come and go, hence <=).
  // A destroyed socket leaves the list once libuv has closed it, a loop turn or two later.
  const clean = () => handles().tcp === baseline.tcp && handles().timers <= baseline.timers;
  for (let i = 0; i < 50 && !clean(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(handles().tcp).toBe(baseline.tcp);
  expect(handles().timers).toBeLessThanOrEqual(baseline.timers);
});

/** The rejection of `p`, which must be an MpError. */
async function mpError(p: Promise<unknown>): Promise<MpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MpError);
  return err as MpError;
}

/** Starts rank 0 on a free port; resolves with its session. */
async function rootSession(size: number, extra: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Rendezvous> {
  return openRendezvous({ rank: 0, size, root: { host: HOST, port: 0 }, timeoutMs: 5_000, ...extra });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A raw client: writes what it is told and decodes what it gets. */
function rawClient(root: HostPort): Promise<{ socket: Socket; frames: unknown[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(root.port, root.host);
    const frames: unknown[] = [];
    const decoder = new FrameDecoder();
    socket.on('data', (chunk) => frames.push(...decoder.push(chunk)));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, frames, closed }));
    socket.once('error', reject);
  });
}

const HELLO = (rank: number, size: number) => ({ t: 'hello', proto: 'rdmajs-mp-rendezvous/1', rank, size });

describe('frames', () => {
  it('reassembles frames cut at every byte, and several frames in one chunk', () => {
    const values = [{ a: 1 }, 'é ünïcödé 🚀', [1, 2, 3], null, { nested: { deep: [true, false] } }];
    const stream = Buffer.concat(values.map((v) => encodeFrame(v)));
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(got).toEqual(values);
      expect(d.buffered).toBe(0);
    }
    const d = new FrameDecoder();
    const byByte = [...stream].flatMap((b) => d.push(Uint8Array.of(b)));
    expect(byByte).toEqual(values);
  });

  it('refuses an oversized length before the body arrives, non-JSON and non-UTF-8 bodies', () => {
    const http = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(() => new FrameDecoder(1024).push(http)).toThrow(/EPROTO: a frame announces \d+ bytes, over maxFrameBytes \(1024\)/);
    const notJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
    expect(() => new FrameDecoder().push(notJson)).toThrow(/EPROTO: a frame is not JSON/);
    const notUtf8 = Buffer.from([0, 0, 0, 2, 0xc3, 0x28]);
    expect(() => new FrameDecoder().push(notUtf8)).toThrow(/EPROTO: a frame is not valid UTF-8/);
  });

  it('encodeFrame refuses what JSON cannot carry and what exceeds the bound', () => {
    expect(() => encodeFrame(10n)).toThrow(TypeError);
    expect(() => encodeFrame(undefined)).toThrow(TypeError);
    expect(() => encodeFrame('x'.repeat(100), 64)).toThrow(RangeError);
    expect(encodeFrame({ a: 1 }).readUInt32BE(0)).toBe(7);
  });

  it('formats rank lists and addresses', () => {
    expect(formatRanks([3])).toBe('rank 3');
    expect(formatRanks([2, 3])).toBe('ranks 2, 3');
    expect(formatRanks([1, 2, 3, 4, 7, 9, 10])).toBe('ranks 1-4, 7, 9, 10');
    expect(formatHostPort({ host: '10.9.0.1', port: 7470 })).toBe('10.9.0.1:7470');
    expect(formatHostPort({ host: 'fe80::1', port: 7470 })).toBe('[fe80::1]:7470');
  });
});

describe('exchange', () => {
  it('1 rank: its own payload after a JSON round trip, no root, no socket', async () => {
    expect(await exchange({ rank: 0, size: 1, payload: { d: new Date(0), u: undefined, n: 1 } })).toEqual([{ d: '1970-01-01T00:00:00.000Z', n: 1 }]);
    expect(await exchange({ rank: 0, size: 1, payload: undefined })).toEqual([null]);
  });

  for (const size of [2, 5]) {
    it(`${size} ranks, the others started before rank 0: every rank gets the same table`, async () => {
      const root = await freePort(HOST);
      const payload = (r: number) => ({ rank: r, qpn: 1000 + r, gid: `fe80::${r}`, blob: 'x'.repeat(r * 100) });
      const clients = range(size)
        .slice(1)
        .map((r) => exchange({ rank: r, size, root, payload: payload(r), timeoutMs: 5_000 }));
      // Rank 0 late: the others retry with backoff until it listens.
      await new Promise((resolve) => setTimeout(resolve, 150));
      const t0 = Date.now();
      const tables = await Promise.all([exchange({ rank: 0, size, root, payload: payload(0), timeoutMs: 5_000 }), ...clients]);
      const expected = range(size).map(payload);
      for (const table of tables) expect(table).toEqual(expected);
      expect(Date.now() - t0).toBeLessThan(2_000);
    });
  }

  it('throws at once for bad arguments', () => {
    expect(() => exchange({ rank: 1, size: 2, payload: 1 })).toThrow(/root is required when size > 1/);
    expect(() => exchange({ rank: 2, size: 2, root: { host: HOST, port: 1 }, payload: 1 })).toThrow(RangeError);
    expect(() => exchange({ rank: 0, size: 0, payload: 1 })).toThrow(RangeError);
    expect(() => exchange({ rank: 1, size: 2, root: { host: HOST, port: 0 }, payload: 1 })).toThrow(/root.port must be an integer in 1..65535/);
    expect(() => exchange({ rank: 0, size: 1, payload: 1n })).toThrow(TypeError);
    expect(() => exchange({ rank: 0, size: 1, payload: 'x'.repeat(100), maxFrameBytes: 64 })).toThrow(RangeError);
    expect(() => exchange({ rank: 0, size: 1, payload: 1, timeoutMs: 0 })).toThrow(RangeError);
  });
});

describe('sessions', () => {
  it('several rounds and barriers; a barrier holds everyone until the last rank enters', async () => {
    const size = 4;
    const root = await rootSession(size);
    expect(root.address!.port).toBeGreaterThan(0);
    const clients = await Promise.all(range(size).slice(1).map((rank) => openRendezvous({ rank, size, root: root.address!, timeoutMs: 5_000 })));
    const all = [root, ...clients];
    const first = await Promise.all(all.map((s) => s.allgather(`endpoint of ${s.rank}`)));
    for (const t of first) expect(t).toEqual(range(size).map((r) => `endpoint of ${r}`));

    let released = 0;
    const early = all.slice(0, 3).map((s) => s.barrier().then(() => released++));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(released).toBe(0);
    await Promise.all([...early, all[3]!.barrier()]);
    expect(released).toBe(3);

    const second = await Promise.all(all.map((s) => s.allgather({ round: 2, r: s.rank })));
    for (const t of second) expect(t).toEqual(range(size).map((r) => ({ round: 2, r })));
    await Promise.all(all.map((s) => s.close()));
    await expect(root.allgather(1)).rejects.toThrow(/ECLOSED/);
  });

  it('one round at a time per session', async () => {
    const root = await rootSession(2);
    const client = await openRendezvous({ rank: 1, size: 2, root: root.address!, timeoutMs: 5_000 });
    const first = root.allgather(1);
    expect((await mpError(root.allgather(2))).code).toBe('EINVAL'); // `first` is still pending, not rejected
    await expect(Promise.all([first, client.allgather(2)])).resolves.toEqual([
      [1, 2],
      [1, 2],
    ]);
    await Promise.all([root.close(), client.close()]);
  });
});

describe('failures', () => {
  it('a payload under the bound whose frame is over it: that round rejects with RangeError, nothing left armed', async () => {
    const root = await openRendezvous({ rank: 0, size: 2, root: { host: HOST, port: 0 }, timeoutMs: 5_000, maxFrameBytes: 64 });
    const client = await openRendezvous({ rank: 1, size: 2, root: root.address!, timeoutMs: 5_000, maxFrameBytes: 64 });
    await expect(client.allgather('x'.repeat(58))).rejects.toThrow(RangeError);
    await Promise.all([root.close(), client.close()]);
  });


  it('missing ranks: rank 0 names them and the root address, the present rank hears it too', async () => {
    const root = await freePort(HOST);
    const addr = formatHostPort(root);
    const t0 = Date.now();
    const [e0, e1] = await Promise.all([
      mpError(exchange({ rank: 0, size: 4, root, payload: 0, timeoutMs: 400 })),
      mpError(exchange({ rank: 1, size: 4, root, payload: 1, timeoutMs: 2_000 })),
    ]);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(e0.code).toBe('ETIMEDOUT');
    expect(e0.message).toContain(`ranks 2, 3 never connected to ${addr}`);
    expect(e1.code).toBe('ETIMEDOUT');
    expect(e1.message).toContain(`rendezvous root ${addr}`);
    expect(e1.message).toContain('ranks 2, 3 never connected');
  });

  it('a connected rank that never joins the round is named as such', async () => {
    const root = await rootSession(3, { timeoutMs: 300 });
    const idle = await openRendezvous({ rank: 2, size: 3, root: root.address!, timeoutMs: 5_000 });
    const err = await mpError(root.allgather(0));
    expect(err.message).toMatch(/rank 1 never connected to 127\.0\.0\.1:\d+ within 0\.3 s; rank 2 connected to 127\.0\.0\.1:\d+ but did not join round 0/);
    await Promise.all([root.close(), idle.close()]);
  });

  it('no root at all: the client gives up at its deadline, naming the root address', async () => {
    const root = await freePort(HOST);
    const t0 = Date.now();
    const err = await mpError(exchange({ rank: 1, size: 2, root, payload: 1, timeoutMs: 300 }));
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toContain(`could not connect to the rendezvous root ${formatHostPort(root)}`);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('rank 0 cannot listen where another process already does: ELAUNCH naming the address', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, HOST, resolve));
    const port = (holder.address() as { port: number }).port;
    const err = await mpError(exchange({ rank: 0, size: 2, root: { host: HOST, port }, payload: 0, timeoutMs: 1_000 }));
    expect(err.code).toBe('ELAUNCH');
    expect(err.message).toContain(`${HOST}:${port}`);
    expect(err.message).toContain('EADDRINUSE');
    await new Promise((resolve) => holder.close(resolve));
  });

  it('a duplicate rank: both copies and rank 0 fail fast with EINVAL naming it', async () => {
    const root = await rootSession(3, { timeoutMs: 10_000 });
    const first = await openRendezvous({ rank: 1, size: 3, root: root.address!, timeoutMs: 10_000 });
    const t0 = Date.now();
    const r0 = mpError(root.allgather(0));
    const r1 = mpError(first.allgather(1));
    const dup = await mpError(openRendezvous({ rank: 1, size: 3, root: root.address!, timeoutMs: 10_000 }));
    const [e0, e1] = await Promise.all([r0, r1]);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(dup.code).toBe('EINVAL');
    expect(dup.message).toMatch(/rank 1 is already connected to .* duplicate rank/);
    expect(e0.code).toBe('EINVAL');
    expect(e0.message).toMatch(/rank 1 connected twice \(from 127\.0\.0\.1:\d+ and from 127\.0\.0\.1:\d+\): duplicate rank/);
    expect(e1.code).toBe('EINVAL');
    expect(e1.message).toContain('rank 1 connected twice');
    await Promise.all([root.close(), first.close()]);
  });

  it('a different size: the client and rank 0 both get EINVAL naming both sizes', async () => {
    const root = await rootSession(3, { timeoutMs: 10_000 });
    const r0 = mpError(root.allgather(0));
    const e1 = await mpError(openRendezvous({ rank: 1, size: 4, root: root.address!, timeoutMs: 10_000 }));
    const e0 = await r0;
    expect(e1.code).toBe('EINVAL');
    expect(e1.message).toContain('this rank was started with size 4, but rank 0 at');
    expect(e1.message).toContain('with size 3');
    expect(e0.code).toBe('EINVAL');
    expect(e0.message).toMatch(/rank 1 \(from .*\) was started with size 4, rank 0 with size 3/);
    await root.close();
  });

  it('garbage from a stranger is refused without harming the job; a raw client speaking byte by byte is served', async () => {
    const size = 3;
    const root = await rootSession(size);
    const addr = root.address!;
    const stranger = await rawClient(addr);
    stranger.socket.write('GET / HTTP/1.1\r\nHost: rdmajs\r\n\r\n');
    await stranger.closed;
    expect(stranger.frames).toEqual([{ t: 'error', code: 'EPROTO', message: expect.stringContaining('refused the connection: a frame announces') }]);

    // Rank 2, by hand: the hello and its round payload trickle in one byte at a time.
    const raw = await rawClient(addr);
    const bytes = Buffer.concat([encodeFrame(HELLO(2, size)), encodeFrame({ t: 'round', round: 0, payload: 'raw' })]);
    const trickle = (async () => {
      for (const b of bytes) {
        raw.socket.write(Uint8Array.of(b));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const client = await openRendezvous({ rank: 1, size, root: addr, timeoutMs: 5_000 });
    const [t0, t1] = await Promise.all([root.allgather('zero'), client.allgather('one'), trickle]);
    expect(t0).toEqual(['zero', 'one', 'raw']);
    expect(t1).toEqual(t0);
    await Promise.all([client.close(), root.close()]);
    await raw.closed; // rank 0's close ends the raw client's connection too
    expect(raw.frames.slice(0, 2)).toEqual([
      { t: 'welcome', size },
      { t: 'table', round: 0, payloads: ['zero', 'one', 'raw'] },
    ]);
    // Then only departure news: rank 1 left cleanly (if rank 0 saw it first), rank 0 says bye.
    expect(raw.frames.slice(2)).toContainEqual({ t: 'bye' });
    for (const f of raw.frames.slice(2)) expect(f).toSatisfy((x: { t: string; rank?: number; clean?: boolean }) => x.t === 'bye' || (x.t === 'gone' && x.rank === 1 && x.clean === true));
  });

  it('onDeparture: every rank hears that a rank died (clean: false) or closed its session (clean: true)', async () => {
    const size = 4;
    const root = await rootSession(size, { timeoutMs: 10_000 });
    const addr = root.address!;
    const [c1, c2, c3] = await Promise.all([1, 2, 3].map((rank) => openRendezvous({ rank, size, root: addr, timeoutMs: 10_000 })));
    await Promise.all([root.barrier(), c1!.barrier(), c2!.barrier(), c3!.barrier()]);
    const heard = new Map<number, { rank: number; clean: boolean; detail: string }[]>();
    const listen = (me: number, s: Rendezvous) => {
      heard.set(me, []);
      s.onDeparture((rank, clean, detail) => heard.get(me)!.push({ rank, clean, detail }));
    };
    listen(0, root);
    listen(2, c2!);
    listen(3, c3!);
    await c1!.close(); // on purpose
    await until(() => heard.get(2)!.length === 1 && heard.get(3)!.length === 1 && heard.get(0)!.length === 1);
    for (const me of [0, 2, 3]) expect(heard.get(me)).toEqual([{ rank: 1, clean: true, detail: 'rank 1 closed its rendezvous session' }]);
    // Rank 2 "dies": its socket goes without a bye.
    (c2 as unknown as { fail(e: Error): void }).fail(new MpError({ code: 'EPEERDEAD' }, 'simulated death'));
    await until(() => heard.get(3)!.length === 2 && heard.get(0)!.length === 2);
    expect(heard.get(3)![1]).toMatchObject({ rank: 2, clean: false, detail: expect.stringMatching(/^rank 2 disconnected/) });
    expect(heard.get(0)![1]).toMatchObject({ rank: 2, clean: false });
    // Rank 0 closes first, on purpose: rank 3 hears a clean departure of rank 0.
    await root.close();
    await until(() => heard.get(3)!.length === 3);
    expect(heard.get(3)![2]).toMatchObject({ rank: 0, clean: true });
    await c3!.close();
  });

  it('garbage from a rank fails the job with EPROTO naming the rank', async () => {
    const root = await rootSession(3, { timeoutMs: 10_000 });
    const other = await openRendezvous({ rank: 2, size: 3, root: root.address!, timeoutMs: 10_000 });
    const r0 = mpError(root.allgather(0));
    const r2 = mpError(other.allgather(2));
    const raw = await rawClient(root.address!);
    // The hello and the garbage in one write: the decoder must act on the hello before refusing the rest.
    raw.socket.write(Buffer.concat([encodeFrame(HELLO(1, 3)), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])]));
    const [e0, e2] = await Promise.all([r0, r2]);
    expect(e0.code).toBe('EPROTO');
    expect(e0.message).toMatch(/rank 1 \(from 127\.0\.0\.1:\d+\) sent garbage: a frame announces 4294967295 bytes/);
    expect(e2.code).toBe('EPROTO');
    expect(e2.message).toContain('rank 1 (from');
    await raw.closed;
    await Promise.all([root.close(), other.close()]);
  });

  it('a root that does not speak the protocol: the client fails with EPROTO naming it', async () => {
    const liar = createServer((s) => s.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => liar.listen(0, HOST, resolve));
    const root = { host: HOST, port: (liar.address() as { port: number }).port };
    const err = await mpError(exchange({ rank: 1, size: 2, root, payload: 1, timeoutMs: 5_000 }));
    expect(err.code).toBe('EPROTO');
    expect(err.message).toContain(`the rendezvous root ${formatHostPort(root)} sent garbage`);
    await new Promise((resolve) => liar.close(resolve));
  });

  it('a rank that dies: rank 0 fails at once with EPEERDEAD naming it; the root dying fails the others', async () => {
    const root = await rootSession(3, { timeoutMs: 10_000 });
    const survivor = await openRendezvous({ rank: 2, size: 3, root: root.address!, timeoutMs: 10_000 });
    const doomed = await rawClient(root.address!);
    doomed.socket.write(encodeFrame(HELLO(1, 3)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const r0 = mpError(root.allgather(0));
    const r2 = mpError(survivor.allgather(2));
    doomed.socket.destroy();
    const [e0, e2] = await Promise.all([r0, r2]);
    expect(e0.code).toBe('EPEERDEAD');
    expect(e0.peer).toBe(1);
    expect(e0.message).toMatch(/rank 1 disconnected .* before joining rendezvous round 0/);
    expect(e2.code).toBe('EPEERDEAD');
    await Promise.all([root.close(), survivor.close()]);

    // The root goes away mid-round: the client hears it, naming the root.
    const root2 = await rootSession(2, { timeoutMs: 10_000 });
    const client = await openRendezvous({ rank: 1, size: 2, root: root2.address!, timeoutMs: 10_000 });
    const pending = mpError(client.allgather(1));
    await root2.close();
    const err = await pending;
    expect(['EPEERDEAD', 'ECLOSED']).toContain(err.code);
    expect(err.message).toContain(formatHostPort(root2.address!));
    await client.close();
  });

  it('abort: a waiting rank 0, a client retrying to connect, and an already-aborted signal', async () => {
    const ac = new AbortController();
    const root = await rootSession(3, { timeoutMs: 10_000, signal: ac.signal });
    const pending = mpError(root.allgather(0));
    setTimeout(() => ac.abort(new Error('user gave up')), 50);
    const t0 = Date.now();
    const e0 = await pending;
    expect(e0.code).toBe('ECANCELED');
    expect((e0 as Error).cause).toEqual(new Error('user gave up'));
    expect(Date.now() - t0).toBeLessThan(1_000);
    await expect(root.allgather(0)).rejects.toBe(e0);
    await root.close();

    const nobody = await freePort(HOST);
    const ac2 = new AbortController();
    const connecting = mpError(exchange({ rank: 1, size: 2, root: nobody, payload: 1, timeoutMs: 10_000, signal: ac2.signal }));
    setTimeout(() => ac2.abort(), 100);
    const e1 = await connecting;
    expect(e1.code).toBe('ECANCELED');

    const e2 = await mpError(exchange({ rank: 0, size: 2, root: nobody, payload: 0, signal: AbortSignal.abort() }));
    expect(e2.code).toBe('ECANCELED');
  });

  it('a table larger than maxFrameBytes fails the round with EINVAL everywhere', async () => {
    const root = await openRendezvous({ rank: 0, size: 2, root: { host: HOST, port: 0 }, timeoutMs: 5_000, maxFrameBytes: 200 });
    const client = await openRendezvous({ rank: 1, size: 2, root: root.address!, timeoutMs: 5_000, maxFrameBytes: 200 });
    const [e0, e1] = await Promise.all([mpError(root.allgather('a'.repeat(120))), mpError(client.allgather('b'.repeat(120)))]);
    expect(e0.code).toBe('EINVAL');
    expect(e0.message).toMatch(/round 0: .*exceeds maxFrameBytes \(200\)/);
    expect(e1.code).toBe('EINVAL');
    await Promise.all([root.close(), client.close()]);
  });
});
