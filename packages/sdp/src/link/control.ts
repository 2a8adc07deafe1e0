/**
 * Control messages: the queue of zero-length SEND_WITH_IMMs (BLOCKED,
 * ABORT, KEEPALIVE), our FIN and its acknowledgement, the credit word we
 * write back to the peer (with a CREDIT when it waits), and the
 * BLOCKED/CREDIT handshake state of both directions.
 * @module
 */
import { CREDIT_BYTES, Kind, advance, imm } from '../protocol.js';
import type { SendLedger } from './send-ledger.js';
import type { SendWindow } from './send-window.js';
import type { SendWr } from './transport.js';

/** Our FIN: not asked for, asked for (goes after the data), posted, acknowledged by the peer's NIC. */
export type FinState = 'none' | 'wanted' | 'sent' | 'acked';

/** Runs with the error that ended the connection, or none once the peer has what was sent. */
export type Done = (err?: Error) => void;

export class Control {
  /** Our BLOCKED is outstanding (once per blocked episode). */
  blockedSent = false;
  /**
   * A CREDIT answered our BLOCKED: the writer must look again even if the
   * credit word was already read (fixes 0962daa's stall, where the writer
   * blocked again with no BLOCKED of its own outstanding).
   */
  creditArrived = false;
  /** The peer told us it waits for credit. */
  peerBlocked = false;
  /** We answered bytes for a closing socket with ABORT (once). */
  resetSent = false;
  fin: FinState = 'none';
  #finChain = -1;
  #finDone: Done[] = [];
  readonly #want: number[] = [];
  readonly #window: SendWindow;
  readonly #ledger: SendLedger;
  readonly #ctl: SendWr & { imm: number };
  readonly #ctlOne: SendWr[];
  readonly #creditOnly: SendWr[];
  readonly #creditWake: SendWr[];

  constructor(window: SendWindow, ledger: SendLedger) {
    this.#window = window;
    this.#ledger = ledger;
    this.#ctl = { opcode: 'SEND_WITH_IMM', sg: [], imm: 0, signaled: true };
    this.#ctlOne = [this.#ctl];
    const peer = window.peer;
    const creditWr: SendWr = {
      opcode: 'RDMA_WRITE',
      sg: [{ mr: window.mirror, offset: peer.ringSize, length: CREDIT_BYTES }],
      remote: { address: peer.ringAddress, rkey: peer.rkey, offset: peer.ringSize },
      inline: true,
      signaled: true,
    };
    this.#creditOnly = [creditWr];
    this.#creditWake = [{ ...creditWr, signaled: false }, this.#ctl];
  }

  /** Queues a control message (posted by {@link post}). */
  push(i: number): void {
    this.#want.push(i);
  }

  /** Drops what is queued: an ABORT goes next, alone. */
  abort(): void {
    this.#want.length = 0;
    this.#want.push(imm(Kind.ABORT));
  }

  /** Asks for a FIN after all data; `done` runs once the peer has it. */
  finish(done: Done): void {
    this.#finDone.push(done);
    if (this.fin === 'none') this.fin = 'wanted';
  }

  /** Posts queued messages while the peer has receives, then the FIN once all data is posted. False if the QP refused. */
  post(): boolean {
    const w = this.#window;
    const ledger = this.#ledger;
    while (this.#want.length > 0 && w.msgCredits() > 0 && ledger.free > 0) {
      this.#ctl.imm = this.#want.shift()!;
      if (!ledger.post(this.#ctlOne)) return false;
      w.sentMsgs = advance(w.sentMsgs, 1);
    }
    if (this.fin === 'wanted' && w.posted === w.tail && this.#want.length === 0 && w.msgCredits() > 0 && ledger.free > 0) {
      this.#ctl.imm = imm(Kind.FIN);
      if (!ledger.post(this.#ctlOne)) return false;
      w.sentMsgs = advance(w.sentMsgs, 1);
      this.fin = 'sent';
      this.#finChain = ledger.last;
    }
    return true;
  }

  /**
   * Writes our credit word (`consumed`, `reposted`) into the peer's; with
   * `wake` a CREDIT follows so a blocked peer looks at it. False when there
   * is no room now (retried after the next completion) or the QP refused.
   */
  postCredit(wake: boolean, consumed: number, reposted: number): boolean {
    const w = this.#window;
    const wrs = wake ? this.#creditWake : this.#creditOnly;
    if (this.#ledger.free < wrs.length || (wake && w.msgCredits() === 0)) return false;
    w.scratch[0] = consumed;
    w.scratch[1] = reposted;
    if (wake) this.#ctl.imm = imm(Kind.CREDIT);
    if (!this.#ledger.post(wrs)) return false;
    if (wake) {
      w.sentMsgs = advance(w.sentMsgs, 1);
      this.peerBlocked = false;
    }
    return true;
  }

  /** Send chain `chain` completed: if it carried our FIN, the peer has it. */
  chainDone(chain: number): void {
    if (chain !== this.#finChain) return;
    this.fin = 'acked';
    this.settle();
  }

  /** Runs the FIN callbacks (with `err`, or as delivered). */
  settle(err?: Error): void {
    const waiting = this.#finDone.splice(0);
    for (const d of waiting) d(err);
  }
}
