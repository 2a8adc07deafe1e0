// MPI's matching rules written the obvious way (two arrays, linear scans),
// as the oracle for the MatchingEngine: a receive takes the earliest-arrived
// unexpected message that fits; a message goes to the earliest-posted
// receive that fits; a cancel removes a receive still waiting.
import { ANY_SOURCE, ANY_TAG } from '../../src/index.js';

interface Entry {
  id: number;
  source: number;
  tag: number;
}

function fits(recv: Entry, msg: Entry): boolean {
  return (recv.source === ANY_SOURCE || recv.source === msg.source) && (recv.tag === ANY_TAG || recv.tag === msg.tag);
}

export class ReferenceMatcher {
  readonly posted: Entry[] = [];
  readonly unexpected: Entry[] = [];

  /** Returns the id of the message the receive took, or undefined (then it waits). */
  post(id: number, source: number, tag: number): number | undefined {
    const recv = { id, source, tag };
    const i = this.unexpected.findIndex((m) => fits(recv, m));
    if (i >= 0) return this.unexpected.splice(i, 1)[0]?.id;
    this.posted.push(recv);
    return undefined;
  }

  /** Returns the id of the receive the message went to, or undefined (then it waits). */
  arrive(id: number, source: number, tag: number): number | undefined {
    const msg = { id, source, tag };
    const i = this.posted.findIndex((r) => fits(r, msg));
    if (i >= 0) return this.posted.splice(i, 1)[0]?.id;
    this.unexpected.push(msg);
    return undefined;
  }

  cancel(id: number): boolean {
    const i = this.posted.findIndex((r) => r.id === id);
    if (i < 0) return false;
    this.posted.splice(i, 1);
    return true;
  }
}
