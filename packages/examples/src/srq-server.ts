#!/usr/bin/env node
/**
 * One server, many clients, one pool of receive buffers: a shared receive
 * queue (SRQ) behind every connection the server accepts over rdma_cm.
 *
 *   node srq-server.js --server --clients 4       # serves 4 clients, then exits
 *   node srq-server.js 10.9.0.1 -c 4 -n 10        # 4 connections, 10 messages each
 *
 * What it teaches:
 * - `pd.createSrq()`: receives are posted once, to the SRQ, and consumed by
 *   whichever QP a message arrives on; memory for receives no longer grows
 *   with the number of clients.
 * - `qp: { srq }` in `req.accept()`: the accepted QPs take their receives
 *   from the SRQ (they have no receive queue of their own).
 * - Demultiplexing: one receive CQ for all connections; each completion
 *   says which QP it came in on (`wc.qpNum`) and which buffer it filled
 *   (`wc.id`, the id the receive was posted with).
 * - `prepare` runs with the new QP in INIT, before the client can send:
 *   the place to register it so that its first message finds its connection.
 * @module
 */
import { cm, openDevice, type CompletionQueue, type QueuePair } from '@rdmajs/verbs';

import { intFlag, runExample, UsageError, type Args } from './cli.js';

const USAGE = `usage: srq-server --server [--host <ip>] [--port <n>] [--clients <n>]
       srq-server <server-ip> [--port <n>] [-c <connections>] [-n <messages>]
A server answering many rdma_cm clients with one shared receive queue.
  --server             be the server: answer every message, exit once --clients said goodbye
  --host <ip>          server: the address to listen on (default: the device's RoCE v2 IPv4 GID)
  -p, --port <n>       rdma_cm port (default 7472; the server takes 0 = any free one)
  --clients <n>        server: clients to serve before exiting (default 4)
  -c, --connections <n> client: connections to open at once (default 4)
  -n, --messages <n>   client: messages per connection (default 10)
  -h, --help           this help
  -V, --version        print the version
environment: RDMAJS_DEVICE=<name> the device to use
exit codes: 0 done, 1 failed, 2 usage error
`;

/** Largest message. */
const MSG = 256;
/** Receives kept posted in the SRQ, for all clients together. */
const SRQ_DEPTH = 32;
/** The immediate of a client's last message. */
const BYE = 0xb7e;

async function ok(cq: CompletionQueue, what: string) {
  const wc = await cq.next();
  if (!wc.ok) throw new Error(`${what} failed: ${wc.status}`);
  return wc;
}

async function serve(args: Args): Promise<void> {
  using ctx = openDevice();
  const host = (args.values.host as string | undefined) ?? ctx.defaultGid(1).ip;
  if (!host) throw new Error(`${ctx.name} has no IP address (GID); give --host`);
  const clients = intFlag(args, 'clients', 4);
  const pd = ctx.allocPd();
  const channel = ctx.createCompletionChannel();
  const sendCq = ctx.createCq({ entries: 64, channel });
  const recvCq = ctx.createCq({ entries: SRQ_DEPTH * 2, channel });
  const srq = pd.createSrq({ maxWr: SRQ_DEPTH });
  // One region, one MSG-byte slot per receive; the slot number is the receive's id.
  const slots = pd.allocateMemory(SRQ_DEPTH * MSG);
  const reply = pd.allocateMemory(MSG);
  const post = (slot: number) => srq.postRecv({ id: BigInt(slot), sg: [{ mr: slots, offset: slot * MSG, length: MSG }] });
  for (let s = 0; s < SRQ_DEPTH; s++) post(s);

  const byQpn = new Map<number, { qp: QueuePair<'ready'>; messages: number }>();
  const listener = await cm.listen({ host, port: intFlag(args, 'port', 7472, 0) });
  console.log(`listening on ${host}:${listener.address()!.port}, one SRQ of ${SRQ_DEPTH} receives`);
  const accepting = (async () => {
    for (let i = 0; i < clients; i++) {
      const req = await listener.next();
      if (req === undefined) return;
      // The QP is ready (RTS) by the time a message arrives on it; prepare() sees it in INIT.
      await req.accept({ pd, qp: { sendCq, recvCq, srq, cap: { maxSendWr: 4 } }, prepare: (qp) => void byQpn.set(qp.qpn, { qp: qp as QueuePair<'ready'>, messages: 0 }) });
    }
  })();

  let goodbyes = 0;
  while (goodbyes < clients) {
    const wc = await ok(recvCq, 'receive');
    const client = byQpn.get(wc.qpNum);
    if (client === undefined) throw new Error(`a message on unknown QP ${wc.qpNum}`);
    const slot = Number(wc.id);
    if (wc.imm === BYE) {
      goodbyes++;
    } else {
      // Echo from a buffer of our own, so that the slot can go back to the SRQ at once.
      slots.buffer.copy(reply.buffer, 0, slot * MSG, slot * MSG + wc.byteLen);
      client.qp.postSend({ id: 1n, sg: [{ mr: reply, length: wc.byteLen }] });
      await ok(sendCq, 'send');
      client.messages++;
    }
    post(slot);
  }
  await accepting;
  listener.close();
  const counts = [...byQpn.values()].map((c) => c.messages);
  console.log(`served ${byQpn.size} clients through one SRQ: ${counts.reduce((a, b) => a + b, 0)} messages (${counts.join(' ')})`);
}

async function clientRun(args: Args, host: string): Promise<void> {
  const connections = intFlag(args, 'connections', 4);
  const messages = intFlag(args, 'messages', 10);
  const port = intFlag(args, 'port', 7472);
  using ctx = openDevice();
  const pd = ctx.allocPd();
  const channel = ctx.createCompletionChannel();
  const one = async (k: number): Promise<number> => {
    const sendCq = ctx.createCq({ entries: 8, channel });
    const recvCq = ctx.createCq({ entries: 8, channel });
    const out = pd.allocateMemory(MSG);
    const back = pd.allocateMemory(MSG);
    const recv = { id: 2n, sg: [{ mr: back }] };
    const conn = await cm.connect({ host, port, pd, qp: { sendCq, recvCq, cap: { maxSendWr: 4, maxRecvWr: 4 } }, prepare: (qp) => qp.postRecv(recv) });
    let answered = 0;
    for (let j = 0; j < messages; j++) {
      const text = `connection ${k} message ${j}`;
      const length = out.buffer.write(text);
      conn.qp.postSend({ id: 1n, sg: [{ mr: out, length }] });
      await ok(sendCq, 'send');
      const wc = await ok(recvCq, 'receive');
      if (back.buffer.toString('utf8', 0, wc.byteLen) === text) answered++;
      conn.qp.postRecv(recv);
    }
    conn.qp.postSend({ id: 3n, opcode: 'SEND_WITH_IMM', imm: BYE, sg: [] });
    await ok(sendCq, 'send');
    await conn.close();
    return answered;
  };
  const answered = await Promise.all(Array.from({ length: connections }, (_, k) => one(k)));
  const total = answered.reduce((a, b) => a + b, 0);
  console.log(`${connections} connections x ${messages} messages: ${total} echoed intact`);
  if (total !== connections * messages) process.exitCode = 1;
}

runExample(
  'srq-server',
  USAGE,
  {
    server: { type: 'boolean' },
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    clients: { type: 'string' },
    connections: { type: 'string', short: 'c' },
    messages: { type: 'string', short: 'n' },
  },
  (args) => {
    const [host, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    if (args.values.server) {
      if (host !== undefined) throw new UsageError('the server takes no address (use --host)');
      return serve(args);
    }
    if (host === undefined) throw new UsageError('give the server address, or --server');
    return clientRun(args, host);
  },
);
