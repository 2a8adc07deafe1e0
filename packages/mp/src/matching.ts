/**
 * MPI tag matching, independent of any transport.
 *
 * Two queues, as in every MPI: *posted receives* waiting for a message, and
 * *unexpected messages* that arrived before a receive wanted them. The rules:
 * - a new receive takes the earliest-arrived unexpected message that fits it
 *   (same source or `ANY_SOURCE`, same tag or `ANY_TAG`);
 * - an arriving message goes to the earliest-posted receive that fits it;
 * - so two messages from one source with one tag are received in the order
 *   they arrived: the transport delivers each source in order, and the engine
 *   never reorders them (non-overtaking).
 *
 * Layout (after UCX's ucp tag matching): exact receives are hashed by
 * (source, tag) and wildcard receives sit in one list; every posted receive
 * gets a sequence number, so when an arriving message fits both the head of
 * its exact bucket and some wildcard receive, the smaller number (the earlier
 * post) wins. Unexpected messages are in three lists at once: their
 * (source, tag) bucket, their source's list and the list of all, all in
 * arrival order, so exact and `(source, ANY_TAG)` receives find their message
 * in O(1); only `(ANY_SOURCE, tag)` scans.
 *
 * The engine is one per communicator *context*: the transport puts a context
 * id in its header and hands each message to that context's engine, which is
 * how collectives (their own context) never meet user receives.
 *
 * Payloads are opaque (`M`): an eager message's bytes, or a rendezvous
 * announcement (address, rkey, length) to act on once matched. Receives carry
 * an opaque handle (`R`), typically the caller's request. The engine reports
 * the message's length; a receive whose buffer is smaller rejects with
 * {@link truncationError}'s error, which is the caller's job.
 *
 * Cost: one small node per queued receive or message and nothing else on
 * the matching path (no strings, arrays or closures); empty buckets are kept
 * for reuse and swept only when many pile up. The nodes and their lists are
 * in matching-queues.ts.
 * @module
 */
import * as check from './check.js';
import { MpError, truncationError } from './errors.js';
import {
  MsgNode,
  RecvNode,
  msgPush,
  msgUnlink,
  recvPush,
  recvUnlink,
  type MsgList,
  type PostedReceive,
  type RecvList,
  type UnexpectedMessage,
} from './matching-queues.js';
import { ANY_SOURCE, ANY_TAG, type Envelope } from './types.js';

export { truncationError };
export type { PostedReceive, UnexpectedMessage } from './matching-queues.js';

/** What {@link MatchingEngine.close} hands back so the caller can fail or free them. */
export interface DrainedQueues<M, R> {
  /** Handles of receives that were still posted, in posting order. */
  receives: R[];
  /** Payloads of unexpected messages nobody received, in arrival order. */
  messages: M[];
}

/** Empty buckets kept around before a sweep drops them (tags used once, e.g. per iteration, would pile up). */
const IDLE_BUCKET_LIMIT = 1024;

/**
 * The matching engine of one communicator context. `M` is the payload type
 * of messages, `R` the handle type of receives. Not re-entrant-sensitive:
 * every method completes synchronously and leaves the queues consistent.
 */
export class MatchingEngine<M, R> {
  /** The communicator size: sources are ranks in `[0, size)`. */
  readonly size: number;

  #postSeq = 0;
  #arrivalSeq = 0;
  #closed = false;
  #postedCount = 0;
  #unexpectedCount = 0;
  #unexpectedBytes = 0;
  #idleBuckets = 0;
  /** Exact posted receives: `[source] -> tag -> list`. */
  readonly #posted: (Map<number, RecvList<R>> | undefined)[];
  /** Posted receives with a wildcard, in posting order. */
  readonly #wild: RecvList<R> = { head: null, tail: null };
  /** Unexpected messages: `[source] -> tag -> list`. */
  readonly #unexpected: (Map<number, MsgList<M>> | undefined)[];
  /** Unexpected messages of one source, in arrival order. */
  readonly #bySource: (MsgList<M> | undefined)[];
  /** All unexpected messages, in arrival order. */
  readonly #all: MsgList<M> = { head: null, tail: null };

  /** @throws TypeError / RangeError when `size` is not an integer in [1, MAX_SIZE]. */
  constructor(size: number) {
    this.size = check.size('MatchingEngine', size);
    // Sparse until used: a 10k-rank job touches only its peers' slots.
    this.#posted = new Array(size);
    this.#unexpected = new Array(size);
    this.#bySource = new Array(size);
  }

  /** Receives waiting in the posted queue. */
  get postedCount(): number {
    return this.#postedCount;
  }

  /** Messages waiting in the unexpected queue. */
  get unexpectedCount(): number {
    return this.#unexpectedCount;
  }

  /** Sum of the lengths of the messages in the unexpected queue. */
  get unexpectedBytes(): number {
    return this.#unexpectedBytes;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Posts a receive for `(source, tag)` (either may be a wildcard). If an
   * unexpected message fits, the earliest-arrived one is removed and returned
   * (`kind: 'message'`); otherwise the receive is queued and its ticket is
   * returned (`kind: 'receive'`), to be handed back by {@link deliver} when a
   * message matches it, or passed to {@link cancel}.
   * @throws TypeError / RangeError for a bad source or tag; MpError `'ECLOSED'` after {@link close}.
   */
  postReceive(source: number, tag: number, handle: R): UnexpectedMessage<M> | PostedReceive<R> {
    this.#assertOpen('postReceive');
    check.source('postReceive', source, this.size);
    check.recvTag('postReceive', tag);
    const msg = this.#findUnexpected(source, tag);
    if (msg !== null) {
      this.#removeUnexpected(msg);
      return msg;
    }
    const node = new RecvNode(this, source, tag, ++this.#postSeq, handle);
    if (source === ANY_SOURCE || tag === ANY_TAG) {
      recvPush(this.#wild, node);
    } else {
      let byTag = this.#posted[source];
      if (byTag === undefined) this.#posted[source] = byTag = new Map();
      let list = byTag.get(tag);
      if (list === undefined) byTag.set(tag, (list = { head: null, tail: null }));
      else if (list.head === null) this.#idleBuckets--;
      recvPush(list, node);
    }
    this.#postedCount++;
    return node;
  }

  /**
   * A message arrived (in per-source order) with `length` bytes (or
   * announced them). If a posted receive fits, the earliest-posted one is
   * removed and returned; the caller completes it (checking the length
   * against its buffer). Otherwise the message is queued as unexpected and
   * `undefined` is returned.
   * @throws TypeError / RangeError for a bad source, tag (no wildcards here) or length; MpError `'ECLOSED'` after {@link close}.
   */
  deliver(source: number, tag: number, length: number, payload: M): PostedReceive<R> | undefined {
    this.#assertOpen('deliver');
    check.rank('deliver', 'source', source, this.size);
    check.tag('deliver', tag);
    check.length('deliver', 'length', length);
    const exact = this.#posted[source]?.get(tag);
    let best = exact === undefined ? null : exact.head;
    // The wildcard list is in posting order: stop at the first fit, or once
    // it is past the exact candidate (which then was posted earlier).
    for (let n = this.#wild.head; n !== null; n = n.next) {
      if (best !== null && n.seq > best.seq) break;
      if ((n.source === ANY_SOURCE || n.source === source) && (n.tag === ANY_TAG || n.tag === tag)) {
        best = n;
        break;
      }
    }
    if (best !== null) {
      this.#removePosted(best);
      return best;
    }
    let byTag = this.#unexpected[source];
    if (byTag === undefined) this.#unexpected[source] = byTag = new Map();
    let bucket = byTag.get(tag);
    if (bucket === undefined) byTag.set(tag, (bucket = { head: null, tail: null }));
    else if (bucket.head === null) this.#idleBuckets--;
    let bySource = this.#bySource[source];
    if (bySource === undefined) this.#bySource[source] = bySource = { head: null, tail: null };
    msgPush(bySource, this.#all, new MsgNode(source, tag, length, ++this.#arrivalSeq, payload, bucket));
    this.#unexpectedCount++;
    this.#unexpectedBytes += length;
    return undefined;
  }

  /**
   * The envelope of the unexpected message a receive for `(source, tag)`
   * would take now, without taking it (MPI_Iprobe), or `undefined`.
   * @throws TypeError / RangeError for a bad source or tag; MpError `'ECLOSED'` after {@link close}.
   */
  probe(source: number, tag: number): Envelope | undefined {
    this.#assertOpen('probe');
    check.source('probe', source, this.size);
    check.recvTag('probe', tag);
    const msg = this.#findUnexpected(source, tag);
    return msg === null ? undefined : { source: msg.source, tag: msg.tag, length: msg.length };
  }

  /**
   * Withdraws a posted receive. Returns `true` if it was still waiting (it
   * will never match now), `false` if it had already matched or been
   * cancelled (or the engine is closed), so exactly one of the two outcomes
   * happens.
   * @throws TypeError when `ticket` is not a receive ticket from this engine.
   */
  cancel(ticket: PostedReceive<R>): boolean {
    if (!(ticket instanceof RecvNode) || ticket.owner !== this) {
      throw new TypeError("cancel: ticket must be a receive returned by this engine's postReceive");
    }
    const node = ticket as RecvNode<R>;
    if (node.list === null || this.#closed) return false;
    this.#removePosted(node);
    return true;
  }

  /**
   * Withdraws every posted receive that only `source` could satisfy (its
   * exact source is `source`; wildcard-source receives stay), e.g. when that
   * peer died. Returns their handles in posting order.
   * @throws RangeError for a bad source.
   */
  cancelFrom(source: number): R[] {
    check.rank('cancelFrom', 'source', source, this.size);
    const out: RecvNode<R>[] = [];
    if (this.#closed) return [];
    const byTag = this.#posted[source];
    if (byTag !== undefined) {
      for (const list of byTag.values()) {
        for (let n = list.head; n !== null; n = n.next) out.push(n);
      }
    }
    for (let n = this.#wild.head; n !== null; n = n.next) if (n.source === source) out.push(n);
    out.sort((a, b) => a.seq - b.seq);
    for (const n of out) this.#removePosted(n);
    return out.map((n) => n.handle);
  }

  /**
   * Empties both queues and refuses further use. Returns what was queued so
   * the caller can reject the receives (e.g. `'ECLOSED'`) and free the
   * payloads. Idempotent: later calls return empty lists.
   */
  close(): DrainedQueues<M, R> {
    if (this.#closed) return { receives: [], messages: [] };
    const receives: RecvNode<R>[] = [];
    for (const byTag of this.#posted) {
      if (byTag === undefined) continue;
      for (const list of byTag.values()) for (let n = list.head; n !== null; n = n.next) receives.push(n);
    }
    for (let n = this.#wild.head; n !== null; n = n.next) receives.push(n);
    receives.sort((a, b) => a.seq - b.seq);
    for (const n of receives) this.#removePosted(n);
    const messages: M[] = [];
    for (let m = this.#all.head; m !== null; m = m.allNext) messages.push(m.payload);
    this.#all.head = this.#all.tail = null;
    this.#posted.fill(undefined);
    this.#unexpected.fill(undefined);
    this.#bySource.fill(undefined);
    this.#unexpectedCount = this.#unexpectedBytes = this.#idleBuckets = 0;
    this.#closed = true;
    return { receives: receives.map((n) => n.handle), messages };
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new MpError({ code: 'ECLOSED' }, `${method}: the matching engine is closed`);
  }

  #findUnexpected(source: number, tag: number): MsgNode<M> | null {
    if (source !== ANY_SOURCE) {
      if (tag !== ANY_TAG) return this.#unexpected[source]?.get(tag)?.head ?? null;
      return this.#bySource[source]?.head ?? null;
    }
    if (tag === ANY_TAG) return this.#all.head;
    for (let m = this.#all.head; m !== null; m = m.allNext) if (m.tag === tag) return m;
    return null;
  }

  #removePosted(node: RecvNode<R>): void {
    const list = node.list;
    if (list === null) return;
    recvUnlink(list, node);
    this.#postedCount--;
    if (list.head === null && list !== this.#wild) this.#bucketEmptied();
  }

  #removeUnexpected(m: MsgNode<M>): void {
    // The source list exists: the message was pushed onto it on arrival.
    msgUnlink(this.#bySource[m.source] as MsgList<M>, this.#all, m);
    this.#unexpectedCount--;
    this.#unexpectedBytes -= m.length;
    if (m.bucket.head === null) this.#bucketEmptied();
  }

  #bucketEmptied(): void {
    if (++this.#idleBuckets <= IDLE_BUCKET_LIMIT) return;
    // Amortised: at most one sweep per IDLE_BUCKET_LIMIT emptied buckets.
    for (const byTag of this.#posted) {
      if (byTag !== undefined) for (const [tag, list] of byTag) if (list.head === null) byTag.delete(tag);
    }
    for (const byTag of this.#unexpected) {
      if (byTag !== undefined) for (const [tag, list] of byTag) if (list.head === null) byTag.delete(tag);
    }
    this.#idleBuckets = 0;
  }
}
