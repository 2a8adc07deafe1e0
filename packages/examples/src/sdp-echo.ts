#!/usr/bin/env node
/**
 * An echo server and client over @rdmajs/sdp: Node stream sockets whose
 * bytes travel by RDMA, written exactly as with `node:net`.
 *
 *   node sdp-echo.js --server [--port 7000]              # echoes every client
 *   node sdp-echo.js 10.9.0.1 [--port 7000] hello world  # one line per word, echoed
 *
 * What it teaches:
 * - `sdp.createServer()` / `sdp.connect()` take `net`'s arguments and give
 *   `net.Socket`-like duplex streams: `pipe`, `'data'`, `end()`,
 *   backpressure and half-close behave as with TCP.
 * - Under them, rdma_cm connects two RC queue pairs and each side writes
 *   into a ring registered by the other (docs/sdp.md has the protocol); the
 *   program sees none of it.
 * - Swapping `import * as sdp from '@rdmajs/sdp'` for `node:net` gives
 *   the same program over TCP (or run a `net` program unchanged with
 *   `node --import @rdmajs/sdp/register`, see the package README).
 * @module
 */
import { once } from 'node:events';

import * as sdp from '@rdmajs/sdp';

import { intFlag, runExample, UsageError, type Args } from './cli.js';

const USAGE = `usage: sdp-echo --server [--host <ip>] [--port <n>] [--once]
       sdp-echo <server-ip> [--port <n>] [<line>...]
A stream-socket echo over @rdmajs/sdp (RDMA under a net.Socket-like API).
  --server          be the server: echo what each client sends
  --host <ip>       server: the address to listen on (default 0.0.0.0)
  -p, --port <n>    port (default 7000; the server takes 0 = any free one)
  --once            server: exit after the first client is done
  <line>...         client: lines to send (default: hello)
  -h, --help        this help
  -V, --version     print the version
environment: RDMAJS_DEVICE=<name> the device; RDMAJS_DEBUG=sdp debug lines
exit codes: 0 done, 1 failed, 2 usage error
`;

async function serve(args: Args): Promise<void> {
  const host = (args.values.host as string | undefined) ?? '0.0.0.0';
  const server = sdp.createServer((socket) => {
    // The whole echo: what comes in goes back out, flow control included.
    socket.pipe(socket);
    socket.on('error', (err) => console.error(`sdp-echo: client: ${err.message}`));
    if (args.values.once) socket.on('close', () => server.close());
  });
  server.listen(intFlag(args, 'port', 7000, 0), host);
  await once(server, 'listening');
  console.log(`listening on ${host}:${server.address()!.port}`);
  await once(server, 'close');
}

async function client(args: Args, host: string, lines: string[]): Promise<void> {
  const socket = sdp.connect(intFlag(args, 'port', 7000), host);
  await once(socket, 'connect');
  const sent = lines.map((l) => `${l}\n`).join('');
  const t0 = process.hrtime.bigint();
  socket.end(sent); // half-close: the server's pipe ends its side once it has echoed everything
  let echoed = '';
  socket.setEncoding('utf8');
  for await (const chunk of socket) echoed += chunk as string;
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  for (const line of echoed.split('\n').filter(Boolean)) console.log(`echo: ${line}`);
  console.log(`${Buffer.byteLength(echoed)} of ${Buffer.byteLength(sent)} bytes echoed in ${us.toFixed(0)} µs`);
  if (echoed !== sent) process.exitCode = 1;
}

runExample(
  'sdp-echo',
  USAGE,
  { server: { type: 'boolean' }, host: { type: 'string' }, port: { type: 'string', short: 'p' }, once: { type: 'boolean' } },
  (args) => {
    const [host, ...lines] = args.positionals;
    if (args.values.server) {
      if (host !== undefined) throw new UsageError(`the server takes no arguments (got '${host}'; use --host)`);
      return serve(args);
    }
    if (host === undefined) throw new UsageError('give the server address, or --server');
    return client(args, host, lines.length > 0 ? lines : ['hello']);
  },
);
