// The CommonJS side: `require` of the ESM packages (Node >= 20.19), typed.
import verbs = require('@rdmajs/verbs');
import sdp = require('@rdmajs/sdp');

export const names: string[] = [typeof verbs.openDevice, typeof sdp.createServer];
