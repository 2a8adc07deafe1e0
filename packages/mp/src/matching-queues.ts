/**
 * The queues under the matching engine (matching.ts): intrusive doubly
 * linked lists, so queuing and removing a receive or a message allocates
 * one node and nothing else. A posted receive sits in one list (its exact
 * (source, tag) bucket, or the wildcard list); an unexpected message in
 * three at once (its (source, tag) bucket, its source's list, the list of
 * all), each in arrival order, with a pair of links per lane.
 * @module
 */
import type { Envelope } from './types.js';

/** A receive the engine holds in its posted queue (or held, once matched or cancelled). */
export interface PostedReceive<R> {
  /** Always `'receive'`: tells a ticket from an {@link UnexpectedMessage}. */
  readonly kind: 'receive';
  /** As posted: a rank or `ANY_SOURCE`. */
  readonly source: number;
  /** As posted: a tag or `ANY_TAG`. */
  readonly tag: number;
  /** Posting order: smaller was posted earlier. */
  readonly seq: number;
  /** The caller's handle given to {@link MatchingEngine.postReceive}. */
  readonly handle: R;
}

/** A message that arrived before its receive, as handed back when a receive takes it. */
export interface UnexpectedMessage<M> extends Envelope {
  /** Always `'message'`: tells it from a {@link PostedReceive}. */
  readonly kind: 'message';
  /** Arrival order: smaller arrived earlier. */
  readonly seq: number;
  /** The caller's payload given to {@link MatchingEngine.deliver}. */
  readonly payload: M;
}

/** A posted receive: its ticket, and its links in one list. */
export class RecvNode<R> implements PostedReceive<R> {
  readonly kind = 'receive';
  prev: RecvNode<R> | null = null;
  next: RecvNode<R> | null = null;
  /** The list holding it, or null once matched or cancelled. */
  list: RecvList<R> | null = null;
  constructor(
    /** The engine that issued it (a ticket is only good there). */
    readonly owner: object,
    readonly source: number,
    readonly tag: number,
    readonly seq: number,
    readonly handle: R,
  ) {}
}

/** A list of posted receives, in posting order. */
export interface RecvList<R> {
  head: RecvNode<R> | null;
  tail: RecvNode<R> | null;
}

/** An unexpected message and its links in three lists. */
export class MsgNode<M> implements UnexpectedMessage<M> {
  readonly kind = 'message';
  // Three lanes: every message is in its (source, tag) bucket, its source's list and the list of all.
  keyPrev: MsgNode<M> | null = null;
  keyNext: MsgNode<M> | null = null;
  srcPrev: MsgNode<M> | null = null;
  srcNext: MsgNode<M> | null = null;
  allPrev: MsgNode<M> | null = null;
  allNext: MsgNode<M> | null = null;
  constructor(
    readonly source: number,
    readonly tag: number,
    readonly length: number,
    readonly seq: number,
    readonly payload: M,
    readonly bucket: MsgList<M>,
  ) {}
}

/** A list of unexpected messages, in arrival order. */
export interface MsgList<M> {
  head: MsgNode<M> | null;
  tail: MsgNode<M> | null;
}

/** Appends `node` to `list`. */
export function recvPush<R>(list: RecvList<R>, node: RecvNode<R>): void {
  node.prev = list.tail;
  node.next = null;
  if (list.tail === null) list.head = node;
  else list.tail.next = node;
  list.tail = node;
  node.list = list;
}

/** Removes `node` from `list`. */
export function recvUnlink<R>(list: RecvList<R>, node: RecvNode<R>): void {
  if (node.prev === null) list.head = node.next;
  else node.prev.next = node.next;
  if (node.next === null) list.tail = node.prev;
  else node.next.prev = node.prev;
  node.prev = node.next = null;
  node.list = null;
}

/** Appends `node` to its bucket, its source's list and the list of all. */
export function msgPush<M>(bySource: MsgList<M>, all: MsgList<M>, node: MsgNode<M>): void {
  const bucket = node.bucket;
  node.keyPrev = bucket.tail;
  if (bucket.tail === null) bucket.head = node;
  else bucket.tail.keyNext = node;
  bucket.tail = node;
  node.srcPrev = bySource.tail;
  if (bySource.tail === null) bySource.head = node;
  else bySource.tail.srcNext = node;
  bySource.tail = node;
  node.allPrev = all.tail;
  if (all.tail === null) all.head = node;
  else all.tail.allNext = node;
  all.tail = node;
}

/** Removes `m` from its bucket, its source's list `src` and the list of all. */
export function msgUnlink<M>(src: MsgList<M>, all: MsgList<M>, m: MsgNode<M>): void {
  const bucket = m.bucket;
  if (m.keyPrev === null) bucket.head = m.keyNext;
  else m.keyPrev.keyNext = m.keyNext;
  if (m.keyNext === null) bucket.tail = m.keyPrev;
  else m.keyNext.keyPrev = m.keyPrev;
  if (m.srcPrev === null) src.head = m.srcNext;
  else m.srcPrev.srcNext = m.srcNext;
  if (m.srcNext === null) src.tail = m.srcPrev;
  else m.srcNext.srcPrev = m.srcPrev;
  if (m.allPrev === null) all.head = m.allNext;
  else m.allPrev.allNext = m.allNext;
  if (m.allNext === null) all.tail = m.allPrev;
  else m.allNext.allPrev = m.allPrev;
  m.keyPrev = m.keyNext = m.srcPrev = m.srcNext = m.allPrev = m.allNext = null;
}
