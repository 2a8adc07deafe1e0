// rdma_cm on the real device: listen/connect/accept/reject/disconnect with
// data moved over the connection, and error mapping. Many client processes:
// cm-clients.test.ts.
import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { cm } from '../../src/index.js';
import { cmScaffold, pollN } from './helpers.js';

const scaffold = cmScaffold();
const { cleanups, setup } = scaffold;

async function listen(ip: string) {
  const listener = await cm.listen({ host: ip, port: 0 });
  cleanups.push(() => listener.close());
  const port = listener.address()!.port;
  expect(port).toBeGreaterThan(0);
  return { listener, port };
}

describe('rdma_cm', () => {
  it('connects, carries private data both ways, moves data, and disconnects', async () => {
    const { ip, pd, cq } = setup();
    const { listener, port } = await listen(ip);
    const buf = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const src = pd.allocateMemory(4096);
    src.buffer.fill(0x5a);

    const serverSide = (async () => {
      const req = (await listener.next())!;
      expect(req.remotePrivateData.toString()).toBe('hello from client');
      expect(req.device).toBe(scaffold.ctx.name);
      return req.accept({
        pd,
        qp: { sendCq: cq },
        privateData: Buffer.from(JSON.stringify({ address: String(buf.address), rkey: buf.rkey })),
        prepare: (qp) => qp.postRecv({ id: 77n, sg: [{ mr: buf, offset: 2048, length: 2048 }] }),
      });
    })();
    const client = await cm.connect({ host: ip, port, pd, qp: { sendCq: cq }, privateData: Buffer.from('hello from client') });
    cleanups.push(() => client.close());
    const server = await serverSide;
    cleanups.push(() => server.close());

    expect(client.remoteAddress).toMatchObject({ address: ip, port });
    expect(server.remoteAddress?.address).toBe(ip);
    // The server's accept carried its buffer's address and rkey.
    const remote = JSON.parse(client.remotePrivateData.toString()) as { address: string; rkey: number };
    client.qp.postSend({ id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr: src, length: 1000 }], remote: { address: BigInt(remote.address), rkey: remote.rkey } });
    client.qp.postSend({ id: 2n, opcode: 'SEND', sg: [{ mr: src, offset: 0, length: 300 }] });
    const wcs = pollN(cq, 3);
    expect(wcs.every((w) => w.ok)).toBe(true);
    expect(wcs.find((w) => w.id === 77n)).toMatchObject({ byteLen: 300, qpNum: server.qp.qpn });
    expect(buf.buffer.subarray(0, 1000).every((b) => b === 0x5a)).toBe(true);
    expect(buf.buffer[1000]).toBe(0);
    expect(buf.buffer.subarray(2048, 2348).every((b) => b === 0x5a)).toBe(true);

    const serverSaw = new Promise<void>((resolve) => server.once('disconnected', resolve));
    await client.disconnect();
    await serverSaw;
    expect(client.disconnected && server.disconnected).toBe(true);
  });

  it('the passive side can disconnect too', async () => {
    const { ip, pd, cq } = setup();
    const { listener, port } = await listen(ip);
    const accepted = listener.next().then((req) => req!.accept({ pd, qp: { sendCq: cq } }));
    const client = await cm.connect({ host: ip, port, pd, qp: { sendCq: cq } });
    const server = await accepted;
    cleanups.push(() => client.close(), () => server.close());
    const clientSaw = new Promise<void>((resolve) => client.once('disconnected', resolve));
    await server.disconnect();
    await clientSaw;
    expect(client.qp.query().qpState).toBe('ERR');
  });

  it('a rejected connect fails with ECONNREFUSED carrying the reject data', async () => {
    const { ip, pd, cq } = setup();
    const { listener, port } = await listen(ip);
    void listener.next().then((req) => req!.reject(Buffer.from('go away')));
    const err = await cm.connect({ host: ip, port, pd, qp: { sendCq: cq } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', syscall: 'rdma_connect' });
    expect((err as { rejectData: Buffer }).rejectData.toString()).toBe('go away');
  });

  it('maps refused ports, taken ports, oversized private data and bad arguments to clear errors', async () => {
    const { ip, pd, cq } = setup();
    const { port } = await listen(ip);
    await expect(cm.connect({ host: ip, port: port === 65535 ? 65534 : port + 1, pd, qp: { sendCq: cq }, timeoutMs: 20_000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    await expect(cm.listen({ host: ip, port })).rejects.toMatchObject({ code: 'EADDRINUSE', syscall: 'rdma_bind_addr' });
    await expect(cm.connect({ host: ip, port, pd, qp: { sendCq: cq }, privateData: Buffer.alloc(56) })).rejects.toThrow(RangeError);
    await expect(cm.connect({ host: ip, port: 0, pd, qp: { sendCq: cq } })).rejects.toThrow(RangeError);
    await expect(cm.connect(null as never)).rejects.toThrow(TypeError);
    await expect(cm.connect({ host: 'no-such-host.invalid', port, pd, qp: { sendCq: cq } })).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
  });

  it('UD: connects over SIDR, sends to the listener QP with its qkey, and the listener replies through an AH from the completion', async () => {
    const { ip, pd, cq } = setup();
    const listener = await cm.listen({ host: ip, port: 0, type: 'UD' });
    cleanups.push(() => listener.close());
    expect(listener.type).toBe('UD');
    const port = listener.address()!.port;
    const rcqServer = scaffold.ctx.createCq();
    const rcqClient = scaffold.ctx.createCq();
    const GRH = 40;
    const serverBuf = pd.allocateMemory(GRH + 1024);
    const clientBuf = pd.allocateMemory(GRH + 1024);
    const payload = pd.allocateMemory(1024);
    randomBytes(1024).copy(payload.buffer);

    const serverSide = (async () => {
      const req = (await listener.next({ timeoutMs: 30_000 }))!;
      expect(req.type).toBe('UD');
      expect(req.remotePrivateData.toString()).toBe('ud hello');
      return req.accept({
        pd,
        qp: { sendCq: cq, recvCq: rcqServer },
        privateData: Buffer.from('ud welcome'),
        prepare: (qp) => qp.postRecv({ id: 10n, sg: [{ mr: serverBuf }] }),
      });
    })();
    const client = await cm.connect({
      host: ip,
      port,
      type: 'UD',
      pd,
      qp: { sendCq: cq, recvCq: rcqClient },
      privateData: Buffer.from('ud hello'),
      prepare: (qp) => qp.postRecv({ id: 20n, sg: [{ mr: clientBuf }] }),
    });
    cleanups.push(() => client.close());
    const server = await serverSide;
    cleanups.push(() => server.close());

    expect(client.type).toBe('UD');
    expect(client.qp.type).toBe('UD');
    expect(client.remotePrivateData.toString()).toBe('ud welcome');
    // The SIDR reply named the listener's QP and its qkey.
    expect(client.remoteQpn).toBe(server.qp.qpn);
    expect(client.remoteQkey).toBe(server.qkey);
    expect(client.qkey).toBe(server.qkey); // one qkey for rdma_cm's whole UDP port space
    expect(client.qp.query()).toMatchObject({ qpState: 'RTS', qkey: client.qkey });
    expect(server.ah).toBeNull();
    expect(server.remoteAddress?.address).toBe(ip);

    // Client -> server: the datagram lands after the 40-byte GRH slot.
    client.qp.postSend({ id: 1n, opcode: 'SEND_WITH_IMM', imm: 4242, sg: [{ mr: payload, length: 700 }], ud: client.remote! });
    expect(pollN(cq, 1)[0]).toMatchObject({ id: 1n, status: 'SUCCESS' });
    const wc = pollN(rcqServer, 1)[0]!;
    expect(wc).toMatchObject({ id: 10n, status: 'SUCCESS', byteLen: GRH + 700, imm: 4242, srcQp: client.qp.qpn, qpNum: server.qp.qpn });
    expect(serverBuf.buffer.subarray(GRH, GRH + 700).equals(payload.buffer.subarray(0, 700))).toBe(true);

    // Server -> client: reply to whoever sent that datagram.
    const back = server.replyTo(wc, serverBuf.buffer.subarray(0, GRH));
    expect(back.remoteQpn).toBe(client.qp.qpn);
    server.qp.postSend({ id: 2n, sg: [{ mr: payload, offset: 100, length: 900 }], ud: back });
    expect(pollN(cq, 1)[0]).toMatchObject({ id: 2n, status: 'SUCCESS' });
    expect(pollN(rcqClient, 1)[0]).toMatchObject({ id: 20n, status: 'SUCCESS', byteLen: GRH + 900, srcQp: server.qp.qpn });
    expect(clientBuf.buffer.subarray(GRH, GRH + 900).equals(payload.buffer.subarray(100, 1000))).toBe(true);

    await client.close();
    await server.close();
    expect(client.closed && client.qp.closed && client.ah!.closed).toBe(true);
    expect(() => server.replyTo(wc, serverBuf.buffer)).toThrow(/closed/);
  });

  it('UD: rejects, missing listeners, oversized private data and bad types map to clear errors', async () => {
    const { ip, pd, cq } = setup();
    const listener = await cm.listen({ host: ip, port: 0, type: 'UD' });
    cleanups.push(() => listener.close());
    const port = listener.address()!.port;
    void listener.next().then((req) => req!.reject(Buffer.from('not today')));
    const err = await cm.connect({ host: ip, port, type: 'UD', pd, qp: { sendCq: cq } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', syscall: 'rdma_connect' });
    expect((err as { rejectData: Buffer }).rejectData.toString()).toBe('not today');
    // Nobody listens on that UDP-space port (the RC port space is separate).
    const rc = await listen(ip);
    await expect(cm.connect({ host: ip, port: rc.port, type: 'UD', pd, qp: { sendCq: cq }, timeoutMs: 20_000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    await expect(cm.listen({ host: ip, port, type: 'UD' })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(cm.connect({ host: ip, port, type: 'UD', pd, qp: { sendCq: cq }, privateData: Buffer.alloc(180) })).rejects.toThrow(RangeError);
    await expect(cm.connect({ host: ip, port, type: 'XRC' as never, pd, qp: { sendCq: cq } })).rejects.toThrow(RangeError);
    await expect(cm.listen({ port: 0, type: 'UC' as never })).rejects.toThrow(RangeError);
    await expect(listener.next({ timeoutMs: 50 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(() => pd.createAhFromWc({ wcFlags: 1 } as never)).toThrow(TypeError);
  });
});
