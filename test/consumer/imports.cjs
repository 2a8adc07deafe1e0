// CommonJS consumer: require() of the ESM packages (Node >= 20.19).
const verbs = require('@rdmajs/verbs');
const sdp = require('@rdmajs/sdp');
const got = [typeof verbs.openDevice, typeof sdp.connect];
if (got.some((t) => t !== 'function')) throw new Error(`CJS exports: ${got}`);
console.log(`cjs ok: ${Object.keys(verbs).length} verbs exports`);
