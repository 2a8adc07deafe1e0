#!/usr/bin/env node
/**
 * RC ping-pong between two processes over rdma_cm: the RDMA version of a
 * TCP echo test, and the place to start.
 *
 *   node rc-pingpong.js --server [--port 7471]       # one process
 *   node rc-pingpong.js 10.9.0.1 [-n 1000] [-s 64]   # the other
 *
 * What it teaches:
 * - rdma_cm (`cm.listen`, `cm.connect`, `req.accept`): connect by IP
 *   address and port, like TCP, instead of exchanging QP endpoints yourself.
 * - Receives must be posted before the peer sends: `prepare` posts the
 *   first one while the QP is in INIT, before the connection exists.
 * - SEND/RECV on a reliable connected (RC) QP, one message in flight, each
 *   side reposting its receive before answering.
 * - Event-driven completions: `await cq.next()` sleeps on a completion
 *   channel instead of spinning (lower latency needs busy-polling:
 *   `cq.pollInto`, as the demo does).
 * - The end of a stream: the client's last message is a SEND_WITH_IMM whose
 *   immediate value tells the server to stop.
 * @module
 */
import { cm, openDevice, type CompletionQueue, type Context, type QueuePair } from '@rdmajs/verbs';

import { intFlag, runExample, UsageError, type Args } from './cli.js';

const USAGE = `usage: rc-pingpong --server [--host <ip>] [--port <n>]   wait for one client, answer its pings
       rc-pingpong <server-ip> [--port <n>] [-n <iters>] [-s <bytes>]
RC SEND/RECV ping-pong over rdma_cm; the client prints the latency.
  --server            be the server (default address: the device's RoCE v2 IPv4 GID)
  --host <ip>         server: the address to listen on
  -p, --port <n>      rdma_cm port (default 7471; the server takes 0 = any free one)
  -n, --iters <n>     round trips (default 1000)
  -s, --size <bytes>  message size (default 64; the server answers messages up to its -s, default 65536)
  -h, --help          this help
  -V, --version       print the version
environment: RDMAJS_DEVICE=<name> the device to use
exit codes: 0 done, 1 failed, 2 usage error
`;

/** The immediate of the client's last message: "done, stop answering". */
const BYE = 0xb7e;

/** One side's verbs objects: a buffer, a send CQ and a receive CQ on one completion channel. */
function resources(ctx: Context, size: number) {
  const pd = ctx.allocPd();
  const channel = ctx.createCompletionChannel();
  const sendCq = ctx.createCq({ entries: 16, channel });
  const recvCq = ctx.createCq({ entries: 16, channel });
  const mr = pd.allocateMemory(size);
  const qp = { sendCq, recvCq, cap: { maxSendWr: 4, maxRecvWr: 4 } };
  return { pd, sendCq, recvCq, mr, qp, prepare: (q: QueuePair) => q.postRecv({ id: 1n, sg: [{ mr }] }) };
}

/** Waits for the next completion of `cq` and fails loudly on an error status. */
async function expectOk(cq: CompletionQueue, what: string) {
  const wc = await cq.next();
  if (!wc.ok) throw new Error(`${what} failed: ${wc.status}`);
  return wc;
}

async function serve(args: Args): Promise<void> {
  using ctx = openDevice();
  const host = (args.values.host as string | undefined) ?? ctx.defaultGid(1).ip;
  if (!host) throw new Error(`${ctx.name} has no IP address (GID); give --host`);
  const r = resources(ctx, intFlag(args, 'size', 65536));
  const listener = await cm.listen({ host, port: intFlag(args, 'port', 7471, 0) });
  console.log(`listening on ${host}:${listener.address()!.port}`);
  const req = await listener.next();
  listener.close();
  if (req === undefined) return;
  // accept() creates our QP, runs `prepare` (our first receive), and waits for the client's confirmation.
  const conn = await req.accept({ pd: r.pd, qp: r.qp, prepare: r.prepare });
  let answered = 0;
  for (;;) {
    const wc = await expectOk(r.recvCq, 'receive');
    if (wc.imm === BYE) break;
    conn.qp.postRecv({ id: 1n, sg: [{ mr: r.mr }] }); // repost before answering: the next ping may come at once
    conn.qp.postSend({ id: 2n, sg: [{ mr: r.mr, length: wc.byteLen }] });
    await expectOk(r.sendCq, 'send');
    answered++;
  }
  console.log(`answered ${answered} pings`);
  await conn.close();
}

async function ping(args: Args, host: string): Promise<void> {
  const iterations = intFlag(args, 'iters', 1000);
  const size = intFlag(args, 'size', 64);
  using ctx = openDevice();
  const r = resources(ctx, size);
  const conn = await cm.connect({ host, port: intFlag(args, 'port', 7471), pd: r.pd, qp: r.qp, prepare: r.prepare });
  const send = { id: 2n, sg: [{ mr: r.mr, length: size }] };
  const half: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    conn.qp.postSend(send);
    await expectOk(r.sendCq, 'send');
    await expectOk(r.recvCq, 'receive');
    conn.qp.postRecv({ id: 1n, sg: [{ mr: r.mr }] });
    half.push(Number(process.hrtime.bigint() - t0) / 2000);
  }
  conn.qp.postSend({ id: 3n, opcode: 'SEND_WITH_IMM', imm: BYE, sg: [] });
  await expectOk(r.sendCq, 'send');
  await conn.close();
  report(half, size);
}

function report(half: number[], size: number): void {
  const sorted = [...half].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
  console.log(`${half.length} round trips of ${size} B: half round trip typical ${at(0.5).toFixed(1)} µs, min ${sorted[0]!.toFixed(1)} µs, p99 ${at(0.99).toFixed(1)} µs`);
}

runExample(
  'rc-pingpong',
  USAGE,
  { server: { type: 'boolean' }, host: { type: 'string' }, port: { type: 'string', short: 'p' }, iters: { type: 'string', short: 'n' }, size: { type: 'string', short: 's' } },
  (args) => {
    const [host, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    if (args.values.server) {
      if (host !== undefined) throw new UsageError('the server takes no address (use --host)');
      return serve(args);
    }
    if (host === undefined) throw new UsageError('give the server address, or --server');
    return ping(args, host);
  },
);
