/**
 * `node --import @rdmajs/sdp/register app.js`: installs the drop-in hook
 * from the environment. `RDMAJS_SDP` lists the targets to route over SDP
 * (`host:port`, either part may be `*`, comma-separated).
 * @module
 */
import { install, matchFromEnv } from './install.js';

const match = matchFromEnv();
if (match) install({ match });
