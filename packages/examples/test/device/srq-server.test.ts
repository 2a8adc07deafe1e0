// The srq-server example: one server process with one shared receive queue,
// one client process with several rdma_cm connections at once.
import { afterEach, describe, expect, it } from 'vitest';

import { run, start, stopAll } from './run.js';

afterEach(stopAll);

describe('srq-server example', () => {
  it('answers every message of several connections through one SRQ', async () => {
    const server = await start('srq-server', ['--server', '--port', '0', '--clients', '3'], /listening on (\S+):(\d+)/);
    const [, host, port] = server.ready;
    const client = await run('srq-server', [host!, '--port', port!, '-c', '3', '-n', '4']);
    expect(client.code, client.out).toBe(0);
    expect(client.out).toMatch(/^3 connections x 4 messages: 12 echoed intact$/m);
    expect(await server.exited, server.output()).toBe(0);
    expect(server.output()).toMatch(/^served 3 clients through one SRQ: 12 messages \(4 4 4\)$/m);
  });

  it('rejects a bad command line with exit code 2', async () => {
    expect(await run('srq-server', ['--server', '10.0.0.1'])).toMatchObject({ code: 2, out: expect.stringContaining('the server takes no address') });
  });
});
