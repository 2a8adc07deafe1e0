// A consumer's first program: one RDMA WRITE between two RC queue pairs on the
// same device (rxe and most NICs loop back), checked byte for byte.
import { createRequire } from 'node:module';
import { openDevice } from '@rdmajs/verbs';

const require = createRequire(import.meta.url);
const nativeDir = require.resolve('@rdmajs/native').replace(/\/index\.cjs$/, '');
// Which binary node-gyp-build picked: the prebuilt one, since nothing was built here.
const addon = require('node-gyp-build').resolve(nativeDir);

const ctx = openDevice(); // `using` needs a newer V8 than Node 20's; close() at the end
const pd = ctx.allocPd();
const cq = ctx.createCq({ entries: 16, channel: ctx.createCompletionChannel() });
const cap = { maxSendWr: 8, maxRecvWr: 8 };
const qpA = pd.createQp({ type: 'RC', sendCq: cq, cap });
const qpB = pd.createQp({ type: 'RC', sendCq: cq, cap });
const epA = qpA.endpoint();
const a = qpA.connect(qpB.endpoint());
qpB.connect(epA);

const src = pd.allocateMemory(4096, ['LOCAL_WRITE']);
const dst = pd.allocateMemory(4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
for (let i = 0; i < 4096; i++) src.buffer[i] = (i * 7) & 0xff;
a.postSend({ id: 1n, opcode: 'RDMA_WRITE', sg: [{ mr: src, offset: 0, length: 4096 }], remote: dst.remote() });
const wc = await cq.next();
if (!wc.ok) throw new Error(`RDMA WRITE failed: ${wc.status}`);
const same = Buffer.compare(Buffer.from(src.buffer), Buffer.from(dst.buffer)) === 0;
if (!same) throw new Error('RDMA WRITE: the destination does not hold the source bytes');
ctx.close(); // closes the PD, CQ, QPs and MRs first
console.log(`rc-write ok: 4096 bytes on ${ctx.name}, addon ${addon}`);
