#!/usr/bin/env node
/**
 * The rdmajs demo: lists RDMA devices, then on the first active one runs an
 * RC SEND/RECV ping-pong (latency) and a stream of RDMA WRITEs (bandwidth)
 * between two queue pairs, and prints what it measured.
 *
 * Run it with `npm run demo` (boots the SoftRoCE testbed when this host has
 * no RDMA device).
 */
import { CompletionBatch, listDevices, type CompletionQueue, type MemoryRegion } from '@rdmajs/verbs';

import { loopback } from './loopback.js';
import { packageVersion } from './version.js';

const USAGE = `usage: rdmajs-demo
Lists the RDMA devices, then on the first active one (or $RDMAJS_DEVICE) runs
an RC SEND/RECV ping-pong and a stream of RDMA WRITEs and prints what they
measured. No device here? npx rdmajs-testbed auto -- npx rdmajs-demo
  -h, --help      this help
  -V, --version   print the version
environment: RDMAJS_DEVICE=<name> the device to use; RDMAJS_DEBUG=verbs debug lines
exit codes: 0 done, 1 no RDMA device or a failure, 2 usage error
`;

function waitOne(cq: CompletionQueue, batch: CompletionBatch): void {
  while (cq.pollInto(batch) === 0);
  if (!batch.ok(0)) throw new Error(`completion failed: ${batch.status(0)}`);
}

function pingPong(iterations: number, size: number): number[] {
  const { ctx, pd, a, b, cqA, cqB, rcqA, rcqB } = loopback(16);
  try {
    const bufA = pd.allocateMemory(size);
    const bufB = pd.allocateMemory(size);
    const batch = new CompletionBatch(16);
    const recvA = { id: 1n, sg: [{ mr: bufA }] };
    const recvB = { id: 2n, sg: [{ mr: bufB }] };
    const sendA = { id: 3n, sg: [{ mr: bufA }], inline: size <= 64, signaled: false };
    const sendB = { id: 4n, sg: [{ mr: bufB }], inline: size <= 64, signaled: false };
    const half: number[] = [];
    a.postRecv(recvA);
    b.postRecv(recvB);
    for (let i = 0; i < iterations; i++) {
      // Sends are unsignaled but one in eight, which lets the send queue drain.
      const signal = i % 8 === 7;
      sendA.signaled = signal;
      sendB.signaled = signal;
      const t0 = process.hrtime.bigint();
      a.postSend(sendA);
      waitOne(rcqB, batch);
      b.postRecv(recvB);
      b.postSend(sendB);
      waitOne(rcqA, batch);
      a.postRecv(recvA);
      half.push(Number(process.hrtime.bigint() - t0) / 2000);
      if (signal) {
        waitOne(cqA, batch);
        waitOne(cqB, batch);
      }
    }
    return half;
  } finally {
    ctx.close();
  }
}

function bandwidth(totalBytes: number, size: number, depth: number): { mibPerSec: number; gbps: number; seconds: number } {
  const { ctx, pd, a, cqA } = loopback(depth);
  try {
    const src = pd.allocateMemory(size);
    const dst: MemoryRegion = pd.allocateMemory(size, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const iterations = Math.max(1, Math.floor(totalBytes / size));
    const wr = { id: 0n, opcode: 'RDMA_WRITE' as const, sg: [{ mr: src }], remote: dst.remote() };
    const batch = new CompletionBatch(depth);
    let posted = 0;
    let done = 0;
    const t0 = process.hrtime.bigint();
    while (done < iterations) {
      while (posted < iterations && posted - done < depth) {
        a.postSend(wr);
        posted++;
      }
      const n = cqA.pollInto(batch);
      for (let i = 0; i < n; i++) if (!batch.ok(i)) throw new Error(`RDMA WRITE failed: ${batch.status(i)}`);
      done += n;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const bytes = iterations * size;
    return { mibPerSec: bytes / seconds / 2 ** 20, gbps: (bytes * 8) / seconds / 1e9, seconds };
  } finally {
    ctx.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function main(): void {
  const devices = listDevices();
  console.log('RDMA devices:');
  if (devices.length === 0) {
    console.log('  none. Run this through `npm run demo` or `npx rdmajs-testbed auto -- <cmd>` to get a SoftRoCE device.');
    process.exitCode = 1;
    return;
  }
  for (const d of devices) console.log(`  ${d.name}  ${d.transport}  guid ${d.guid.toString(16).padStart(16, '0')}`);

  const { ctx } = loopback(1);
  const port = ctx.queryPort(1);
  const gid = ctx.defaultGid(1);
  console.log(`using ${ctx.name}: port 1 ${port.state}, ${port.linkLayer}, MTU ${port.activeMtu}, GID[${gid.index}] ${gid.type} ${gid.ip ?? gid.gid}`);
  ctx.close();

  const half = pingPong(2000, 64);
  const warm = half.slice(200).sort((x, y) => x - y);
  console.log(
    `RC SEND/RECV ping-pong, 64 B, ${warm.length} round trips: half-RTT typical ${percentile(warm, 50).toFixed(1)} µs, ` +
      `min ${warm[0]!.toFixed(1)} µs, p99 ${percentile(warm, 99).toFixed(1)} µs`,
  );
  const bw = bandwidth(64 * 2 ** 20, 64 * 1024, 32);
  console.log(`RDMA WRITE bandwidth, 64 KiB messages, depth 32: ${bw.mibPerSec.toFixed(1)} MiB/s (${bw.gbps.toFixed(3)} Gb/s)`);
}

/** The command line: no arguments but -h/--help and -V/--version. */
function cli(argv: string[]): void {
  const [arg] = argv;
  if (arg === undefined) return main();
  if (arg === '-h' || arg === '--help') process.stdout.write(USAGE);
  else if (arg === '-V' || arg === '--version') process.stdout.write(`${packageVersion()}\n`);
  else {
    process.stderr.write(`rdmajs-demo: ${arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument '${arg}'`}\n(rdmajs-demo --help shows the usage)\n`);
    process.exitCode = 2;
  }
}

cli(process.argv.slice(2));
