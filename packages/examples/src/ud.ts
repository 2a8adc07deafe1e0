#!/usr/bin/env node
/**
 * Unreliable datagrams (UD): two UD queue pairs of one process exchange
 * messages through address handles, and the receiver answers each sender
 * it learns from the datagram itself.
 *
 *   node ud.js [-n 8] [-s 256]
 *
 * What it teaches:
 * - A UD QP is not connected: `activate()` takes it straight to RTS, with a
 *   qkey that senders must quote.
 * - Each send names its destination: an {@link AddressHandle} (the route to
 *   the peer's port, from its endpoint's GID) plus the remote QP number and qkey.
 * - Every receive buffer starts with 40 bytes for the GRH (the global route
 *   header; on RoCE v2 over IPv4 its last 20 bytes are the IPv4 header),
 *   then the payload; messages are at most one MTU.
 * - The receive completion says who sent it (`srcQp`) and the GRH where
 *   from: `pd.createAhFromWc(wc, grh)` makes the address handle to answer a
 *   client the server never connected to.
 * @module
 */
import { openDevice, type AddressHandle } from '@rdmajs/verbs';

import { intFlag, runExample, UsageError } from './cli.js';

const USAGE = `usage: ud [-n <messages>] [-s <bytes>]
UD SEND/RECV through address handles between two UD queue pairs on one
device; the receiver echoes each message back to its sender.
  -n, --count <n>      messages (default 8)
  -s, --size <bytes>   payload bytes, at most the path MTU (default 256)
  -h, --help           this help
  -V, --version        print the version
environment: RDMAJS_DEVICE=<name> the device to use
exit codes: 0 done, 1 failed, 2 usage error
`;

/** Bytes the device writes in front of every UD payload. */
const GRH = 40;
const QKEY = 0x11111111;

runExample('ud', USAGE, { count: { type: 'string', short: 'n' }, size: { type: 'string', short: 's' } }, (args) => {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
  const count = intFlag(args, 'count', 8);
  const size = intFlag(args, 'size', 256);
  using ctx = openDevice();
  const mtu = ctx.queryPort(1).activeMtu;
  if (size > mtu) throw new UsageError(`--size ${size} exceeds the path MTU (${mtu} B): UD messages are one packet`);
  const pd = ctx.allocPd();
  const cq = ctx.createCq({ entries: 64 });
  const client = pd.createQp({ type: 'UD', sendCq: cq }).activate({ qkey: QKEY });
  const server = pd.createQp({ type: 'UD', sendCq: cq }).activate({ qkey: QKEY });
  const clientBuf = pd.allocateMemory(GRH + size);
  const serverBuf = pd.allocateMemory(GRH + size);

  // The client knows the server's endpoint (here directly; usually over a socket or rdma_cm).
  const toServer = { ah: pd.createAh(server.endpoint()), remoteQpn: server.qpn, remoteQkey: QKEY };
  // Address handles of the senders the server has heard from, by QP number.
  const replyAh = new Map<number, AddressHandle>();

  const poll = () => {
    for (let spins = 0; ; spins++) {
      const [wc] = cq.poll(1);
      if (wc) {
        if (!wc.ok) throw new Error(`work request ${wc.id} failed: ${wc.status}`);
        return wc;
      }
      if (spins > 5_000_000) throw new Error('no completion (a datagram was lost?)');
    }
  };
  let echoed = 0;
  for (let i = 0; i < count; i++) {
    client.postRecv({ id: 10n, sg: [{ mr: clientBuf }] });
    server.postRecv({ id: 20n, sg: [{ mr: serverBuf }] });
    clientBuf.buffer.fill(i & 0xff, GRH);
    client.postSend({ id: 11n, sg: [{ mr: clientBuf, offset: GRH, length: size }], ud: toServer });
    // Completions: the client's send, then the server's receive (in either order).
    let request;
    for (let seen = 0; seen < 2; seen++) {
      const wc = poll();
      if (wc.id === 20n) request = wc;
    }
    // The server answers whoever sent the request: its QP number is in the completion, its GID in the GRH.
    let ah = replyAh.get(request!.srcQp);
    if (ah === undefined) replyAh.set(request!.srcQp, (ah = pd.createAhFromWc(request!, serverBuf.buffer.subarray(0, GRH))));
    server.postSend({ id: 21n, sg: [{ mr: serverBuf, offset: GRH, length: request!.byteLen - GRH }], ud: { ah, remoteQpn: request!.srcQp, remoteQkey: QKEY } });
    for (let seen = 0; seen < 2; seen++) {
      const wc = poll();
      if (wc.id === 10n && wc.byteLen === GRH + size && clientBuf.buffer.subarray(GRH).every((b) => b === (i & 0xff))) echoed++;
    }
  }
  console.log(`UD: ${count} datagrams of ${size} B sent to QP ${server.qpn} (qkey 0x${QKEY.toString(16)}), ${echoed} echoed back intact to QP ${client.qpn}`);
  if (echoed !== count) process.exitCode = 1;
});
