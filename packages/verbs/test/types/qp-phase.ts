// Type-level tests, checked by `tsc -p packages/verbs/test/types` (part of
// npm test): the QP phase in the types stops sends on an unconnected QP.
import type { Endpoint, QueuePair } from '../../src/index.js';

declare const prepared: QueuePair<'prepared'>;
declare const remote: Endpoint;

// @ts-expect-error a prepared (unconnected) QP has no usable postSend
prepared.postSend({});

// Receives may be posted before connecting (from INIT on).
prepared.postRecv({});

const connected: QueuePair<'ready'> = prepared.connect(remote);
connected.postSend({ opcode: 'SEND' });

const activated: QueuePair<'ready'> = prepared.activate({ qkey: 1 });
activated.postSend([]);

// By-hand transitions end in toRts(), or ready() after modify().
const byHand: QueuePair<'ready'> = prepared.toRts();
byHand.postSend([]);
prepared.ready().postSend([]);

// A QP of unknown phase must be proven ready first.
declare const unknown: QueuePair;
// @ts-expect-error phase unknown
unknown.postSend([]);

// Prepared send sets come from ready QPs only, and post with no arguments.
// @ts-expect-error a prepared (unconnected) QP cannot prepare sends
prepared.prepareSend([{}]);
const set = connected.prepareSend([{ opcode: 'SEND' }]);
set.setSignaled(0, true);
set.post();
set.post(1);
