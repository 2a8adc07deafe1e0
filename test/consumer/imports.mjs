// ESM consumer: every package's entry point loads and has its main exports.
import * as verbs from '@rdmajs/verbs';
import * as sdp from '@rdmajs/sdp';
import * as mp from '@rdmajs/mp';
import * as testbed from '@rdmajs/testbed';

const got = [typeof verbs.openDevice, typeof sdp.connect, typeof mp.init, typeof testbed.runInTestbed];
if (got.some((t) => t !== 'function')) throw new Error(`ESM exports: ${got}`);
console.log(`esm ok: ${Object.keys(verbs).length} verbs exports, ${Object.keys(sdp).length} sdp exports`);
