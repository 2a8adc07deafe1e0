// The sdp-echo example: an @rdmajs/sdp echo server in one process, a
// client in another, lines echoed back over RDMA.
import { openDevice } from '@rdmajs/verbs';
import { afterEach, describe, expect, it } from 'vitest';

import { run, start, stopAll } from './run.js';

afterEach(stopAll);

/** The device's IPv4 address: rdma_cm connects by IP. */
function deviceIp(): string {
  using ctx = openDevice();
  const ip = ctx.defaultGid(1).ip;
  if (!ip) throw new Error(`${ctx.name} has no IP address`);
  return ip;
}

describe('sdp-echo example', () => {
  it('echoes each line a client sends, then both exit', async () => {
    const ip = deviceIp();
    const server = await start('sdp-echo', ['--server', '--host', ip, '--port', '0', '--once'], /listening on (\S+):(\d+)/);
    const client = await run('sdp-echo', [ip, '--port', server.ready[2]!, 'hello', 'RDMA', 'world']);
    expect(client.code, client.out).toBe(0);
    expect(client.out).toMatch(/^echo: hello\necho: RDMA\necho: world\n17 of 17 bytes echoed in \d+ µs$/m);
    expect(await server.exited, server.output()).toBe(0);
  });

  it('rejects a bad command line with exit code 2', async () => {
    expect(await run('sdp-echo', ['--port', 'x', '1.2.3.4'])).toMatchObject({ code: 2, out: expect.stringContaining("--port needs an integer >= 1, got 'x'") });
  });
});
