// The rc-pingpong example as two processes over rdma_cm: the server says
// where it listens, the client pings it and prints the latency, the server
// counts what it answered.
import { afterEach, describe, expect, it } from 'vitest';

import { run, start, stopAll } from './run.js';

afterEach(stopAll);

describe('rc-pingpong example', () => {
  it('pings a server in another process and prints the latency', async () => {
    const server = await start('rc-pingpong', ['--server', '--port', '0'], /listening on (\S+):(\d+)/);
    const [, host, port] = server.ready;
    const client = await run('rc-pingpong', [host!, '--port', port!, '-n', '50', '-s', '256']);
    expect(client.code, client.out).toBe(0);
    expect(client.out).toMatch(/^50 round trips of 256 B: half round trip typical [\d.]+ µs, min [\d.]+ µs, p99 [\d.]+ µs$/m);
    expect(await server.exited, server.output()).toBe(0);
    expect(server.output()).toContain('answered 50 pings');
  });

  it('rejects a bad command line with exit code 2', async () => {
    expect(await run('rc-pingpong', [])).toMatchObject({ code: 2, out: expect.stringContaining('give the server address, or --server') });
    expect(await run('rc-pingpong', ['--bogus'])).toMatchObject({ code: 2, out: expect.stringMatching(/^rc-pingpong: Unknown option '--bogus'\n/) });
    expect(await run('rc-pingpong', ['1.2.3.4', '-n', 'x'])).toMatchObject({ code: 2, out: expect.stringContaining("--iters needs an integer >= 1, got 'x'") });
  });
});
