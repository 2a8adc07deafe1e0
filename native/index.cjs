'use strict';
// Loads the compiled addon. Kept in CommonJS so both ESM and CJS consumers
// can require it.
const path = require('node:path');

const candidates = [
  path.join(__dirname, 'build', 'Release', 'rdmajs.node'),
  path.join(__dirname, 'build', 'Debug', 'rdmajs.node'),
];
let lastError;
for (const file of candidates) {
  try {
    module.exports = require(file);
    lastError = undefined;
    break;
  } catch (err) {
    lastError = err;
    if (err.code !== 'MODULE_NOT_FOUND') break;
  }
}
if (lastError) {
  const e = new Error(
    `@rdmajs/native: the native addon is not built or failed to load (${lastError.message}). ` +
      'Run `npm run build` at the repository root; it needs libibverbs-dev and librdmacm-dev.',
  );
  e.code = 'ERR_RDMAJS_NATIVE';
  e.cause = lastError;
  throw e;
}
