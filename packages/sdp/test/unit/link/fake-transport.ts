// A fake Transport: two of them joined in memory behave like the two ends
// of an RC connection (RDMA WRITE lands in the peer's ring, WRITE_WITH_IMM
// and SEND consume one of its receives, signaled work requests complete
// once delivered). Work requests wait on a wire until the test delivers
// them, so tests choose the interleaving; `auto` delivers on its own.
import type { MemoryRegion, RecvWr, SendWr } from '@rdmajs/verbs';

import { Link, type LinkHooks } from '../../../src/link/link.js';
import type { Completions, Transport, ZeroCopyRegistration, ZeroCopyRegistry } from '../../../src/link/transport.js';
import { CREDIT_BYTES, Kind, VERSION, immKind, immValue, type Hello } from '../../../src/protocol.js';

interface Wc {
  status: string;
  opcode: string;
  imm: number | undefined;
}

/** One posted work request, as the peer will see it. */
export interface Op {
  opcode: string;
  bytes: Buffer;
  /** Offset in the peer's ring registration (writes only). */
  offset: number;
  imm: number | undefined;
  signaled: boolean;
}

class Batch implements Completions {
  wcs: Wc[] = [];
  ok(i: number) {
    return this.wcs[i]!.status === 'SUCCESS';
  }
  status(i: number) {
    return this.wcs[i]!.status;
  }
  opcode(i: number) {
    return this.wcs[i]!.opcode;
  }
  imm(i: number) {
    return this.wcs[i]!.imm;
  }
}

function fakeMr(buffer: Buffer): MemoryRegion {
  return { buffer, address: 0x1000n, rkey: 7 } as unknown as MemoryRegion;
}

export class FakeRegistry implements ZeroCopyRegistry {
  acquired = 0;
  released = 0;
  closed = false;
  acquire(buf: Buffer): ZeroCopyRegistration {
    this.acquired++;
    return { mr: fakeMr(Buffer.from(buf.buffer, 0, buf.buffer.byteLength)), offset: buf.byteOffset };
  }
  release(): void {
    this.released++;
  }
  close(): void {
    this.closed = true;
  }
}

export interface FakeOptions {
  ringSize?: number;
  recvCredits?: number;
  zeroCopyThreshold?: number;
  established?: boolean;
}

export class FakeTransport implements Transport {
  peer!: FakeTransport;
  readonly ring: Buffer;
  readonly ringSize: number;
  readonly recvCredits: number;
  readonly busyPollUs = 0;
  readonly zeroCopyThreshold: number;
  readonly zeroCopy: FakeRegistry | undefined;
  readonly completions = new Batch();
  established: boolean;
  /** Posted, not delivered yet (in order). */
  readonly wire: Op[] = [];
  /** Every op ever posted. */
  readonly log: Op[] = [];
  /** Completions not polled yet. */
  readonly cq: Wc[] = [];
  /** While true, the link sees no completions. */
  held = false;
  /** Deliver posted work requests without the test asking. */
  auto = false;
  recvsPosted: number;
  halted = false;
  freed = false;
  #listener: (() => void) | undefined;
  #armed = false;
  #established: Array<() => void> = [];
  #disconnected: Array<() => void> = [];
  #delivering = false;

  constructor(o: FakeOptions = {}) {
    this.ringSize = o.ringSize ?? 4096;
    this.recvCredits = o.recvCredits ?? 32;
    this.recvsPosted = this.recvCredits;
    this.zeroCopyThreshold = o.zeroCopyThreshold ?? 0;
    this.zeroCopy = this.zeroCopyThreshold > 0 ? new FakeRegistry() : undefined;
    this.ring = Buffer.alloc(this.ringSize + CREDIT_BYTES);
    this.established = o.established ?? true;
  }

  hello(): Hello {
    return { version: VERSION, flags: 0, ringSize: this.ringSize, ringAddress: 0x1000n, rkey: 7, recvCredits: this.recvCredits };
  }

  allocate(bytes: number): MemoryRegion {
    return fakeMr(Buffer.alloc(bytes));
  }

  postSend(wrs: SendWr[]): void {
    if (this.halted) throw new Error('QP in ERR');
    for (const wr of wrs) {
      const sge = wr.sg?.[0];
      const bytes = sge ? Buffer.from(sge.mr.buffer.subarray(sge.offset, sge.offset + sge.length)) : Buffer.alloc(0);
      if (sge && sge.offset + sge.length > sge.mr.buffer.length) throw new Error('send reads past its region');
      const op: Op = { opcode: wr.opcode, bytes, offset: wr.remote?.offset ?? -1, imm: (wr as { imm?: number }).imm, signaled: wr.signaled !== false };
      this.wire.push(op);
      this.log.push(op);
    }
    if (this.auto) setImmediate(() => this.deliverAll());
  }

  postRecv(wrs: RecvWr[]): void {
    if (this.halted) throw new Error('QP in ERR');
    this.recvsPosted += wrs.length;
  }

  /** Delivers the oldest `n` posted work requests to the peer. */
  deliver(n = 1): void {
    for (let i = 0; i < n && this.wire.length > 0; i++) this.#land(this.wire.shift()!);
  }

  deliverAll(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (this.wire.length > 0) this.#land(this.wire.shift()!);
    } finally {
      this.#delivering = false;
    }
  }

  #land(op: Op): void {
    const p = this.peer;
    if (op.opcode !== 'SEND_WITH_IMM') {
      // The peer's NIC refuses writes outside its registration.
      if (op.offset < 0 || op.offset + op.bytes.length > p.ring.length) throw new Error(`write at ${op.offset}+${op.bytes.length} outside the ring`);
      op.bytes.copy(p.ring, op.offset);
    }
    if (op.opcode !== 'RDMA_WRITE') {
      if (p.recvsPosted === 0) throw new Error(`receiver not ready: no receive posted for imm 0x${op.imm!.toString(16)}`);
      p.recvsPosted--;
      p.push({ status: 'SUCCESS', opcode: op.opcode === 'SEND_WITH_IMM' ? 'RECV' : 'RECV_RDMA_WITH_IMM', imm: op.imm });
    }
    if (op.signaled) this.push({ status: 'SUCCESS', opcode: op.opcode === 'SEND_WITH_IMM' ? 'SEND' : 'RDMA_WRITE', imm: undefined });
  }

  push(wc: Wc): void {
    this.cq.push(wc);
    this.#wake();
  }

  release(): void {
    this.held = false;
    this.#wake();
  }

  #wake(): void {
    if (this.held || !this.#armed || !this.#listener) return;
    this.#armed = false;
    const fn = this.#listener;
    queueMicrotask(() => fn());
  }

  poll(): number {
    if (this.held) return 0;
    const n = Math.min(this.cq.length, 64);
    this.completions.wcs = this.cq.splice(0, n);
    return n;
  }

  // Armed: the next completion wakes the listener once, from a microtask
  // (as the real channel does from the event loop, never inside a call).
  // Completions already queued raise no event, as with ibv_req_notify_cq.
  arm(): number {
    this.#armed = true;
    return this.poll();
  }

  onWake(fn: (() => void) | undefined): void {
    this.#listener = fn;
  }

  onEstablished(fn: () => void): void {
    this.#established.push(fn);
  }

  /** rdma_cm confirms the connection. */
  establish(): void {
    this.established = true;
    for (const f of this.#established.splice(0)) f();
  }

  onDisconnected(fn: () => void): void {
    this.#disconnected.push(fn);
  }

  /** The connection goes away (both ends see it). */
  disconnectEvent(): void {
    for (const f of this.#disconnected.splice(0)) f();
  }

  halt(): void {
    this.halted = true;
  }

  ref(): void {}
  unref(): void {}

  async disconnect(): Promise<void> {
    this.halted = true;
  }

  free(): void {
    this.freed = true;
    this.zeroCopy?.close();
  }

  /** Kinds of the messages posted so far (DATA, CREDIT, ...), in order. */
  kinds(): string[] {
    const names = Object.fromEntries(Object.entries(Kind).map(([k, v]) => [v, k]));
    return this.log.filter((o) => o.imm !== undefined).map((o) => names[immKind(o.imm!)]!);
  }

  /** Sizes of the DATA messages posted so far. */
  dataSizes(): number[] {
    return this.log.filter((o) => o.imm !== undefined && immKind(o.imm) === Kind.DATA).map((o) => immValue(o.imm!));
  }
}

/**
 * One end: a link over a fake transport, with a writer that works as
 * SdpSocket's does (write what fits, go on at `writable`) and a reader
 * that keeps what arrives (or pauses).
 */
export class End implements LinkHooks {
  readonly link: Link;
  readonly received: Buffer[] = [];
  errors: Error[] = [];
  eofSeen = false;
  /** Bytes received when the FIN was reported. */
  eofAt = -1;
  peerGone = false;
  pauseReading = false;
  writableCalls = 0;
  #queue: Array<{ buf: Buffer; off: number }> = [];

  constructor(
    readonly t: FakeTransport,
    peer: FakeTransport,
  ) {
    this.link = new Link(t, peer.hello(), this);
  }

  write(buf: Buffer): void {
    this.#queue.push({ buf, off: 0 });
    this.pump();
  }

  pump(): void {
    while (this.#queue.length > 0) {
      const w = this.#queue[0]!;
      w.off += this.link.write(w.buf, w.off);
      if (w.off < w.buf.length) return;
      this.#queue.shift();
    }
    this.link.flush();
  }

  get pendingBytes(): number {
    return this.#queue.reduce((s, w) => s + w.buf.length - w.off, 0);
  }

  text(): Buffer {
    return Buffer.concat(this.received);
  }

  data(chunk: Buffer): boolean {
    this.received.push(Buffer.from(chunk));
    return !this.pauseReading;
  }
  eof(): void {
    this.eofSeen = true;
    this.eofAt = this.text().length;
  }
  writable(): void {
    this.writableCalls++;
    this.pump();
  }
  fail(err: Error): void {
    this.errors.push(err);
  }
  peerClosed(): void {
    this.peerGone = true;
  }
}

/** Two ends joined by fake transports, loops started. */
export function pair(a: FakeOptions = {}, b: FakeOptions = {}): { a: End; b: End } {
  const ta = new FakeTransport(a);
  const tb = new FakeTransport(b);
  ta.peer = tb;
  tb.peer = ta;
  const ea = new End(ta, tb);
  const eb = new End(tb, ta);
  ea.link.start();
  eb.link.start();
  return { a: ea, b: eb };
}

/** Lets the links' loops run (a few event-loop turns). */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** Delivers both ways until nothing moves (bounded). */
export async function settle(a: End, b: End, max = 500): Promise<void> {
  for (let i = 0; i < max; i++) {
    await turns(2);
    if (a.t.wire.length === 0 && b.t.wire.length === 0 && (a.t.held || a.t.cq.length === 0) && (b.t.held || b.t.cq.length === 0)) return;
    a.t.deliverAll();
    b.t.deliverAll();
  }
  throw new Error('links did not settle');
}

/** A recognisable byte pattern. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}
