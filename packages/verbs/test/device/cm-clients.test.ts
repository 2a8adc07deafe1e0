// rdma_cm with many client processes connecting at once to one listener,
// one of them SIGKILLed mid-connection. A file of its own so the pair
// project can run it alone, with 64 clients (test/pair/cm-64-clients.test.ts).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { cm } from '../../src/index.js';
import { cmScaffold } from './helpers.js';

// Client processes (each is a whole Node process): 8 here, 64 in the pair project.
const CLIENTS = Number(process.env.RDMAJS_CM_CLIENTS ?? 8);
// Under emulation every client process takes seconds of CPU to start: bounds grow with the count.
const MANY_MS = Math.max(60_000, CLIENTS * 4_000);
const verbs = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

const { cleanups, setup } = cmScaffold();

describe('rdma_cm with many clients', () => {
  it(`serves ${CLIENTS} clients in separate processes connecting at once; a killed client leaves the server healthy`, async () => {
    const { ip, pd, cq } = setup();
    const listener = await cm.listen({ host: ip, port: 0 });
    cleanups.push(() => listener.close());
    const port = listener.address()!.port;
    const served: Array<Promise<unknown>> = [];
    const conns: cm.Connection[] = [];
    const serving = (async () => {
      for await (const req of listener) {
        served.push(
          // A client starved of CPU may take long to answer the accept (RTU): bound it like the connects.
          req.accept({ pd, qp: { sendCq: cq, cap: { maxSendWr: 4, maxRecvWr: 4 } }, timeoutMs: MANY_MS }).then(
            (c) => {
              conns.push(c);
              return req.remotePrivateData.toString();
            },
            (err: Error) => `accept failed: ${err.message}`,
          ),
        );
      }
    })();
    const client = (n: number, hang = false) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', `
          import * as v from ${JSON.stringify(verbs)};
          const ctx = v.openDevice();
          const pd = ctx.allocPd();
          const conn = await v.cm.connect({ host: ${JSON.stringify(ip)}, port: ${port}, pd,
            qp: { sendCq: ctx.createCq(), cap: { maxSendWr: 4, maxRecvWr: 4 } }, privateData: Buffer.from('client ${n}'), timeoutMs: ${MANY_MS} });
          console.log('connected', conn.qp.qpn);
          ${hang ? 'setInterval(() => {}, 1000);' : 'await conn.close(); ctx.close();'}
        `], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d;
          if (hang && out.includes('connected')) child.kill('SIGKILL');
        });
        child.stderr.on('data', (d: Buffer) => (out += d));
        child.on('close', (code, signal) => (code === 0 || (hang && signal === 'SIGKILL') ? resolve(out) : reject(new Error(`client ${n}: ${code} ${out}`))));
      });
    const killed = await client(999, true);
    expect(killed).toContain('connected');
    const t0 = Date.now();
    const outs = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    console.log(`[cm] ${CLIENTS} client processes connected and closed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(outs.every((o) => o.includes('connected'))).toBe(true);
    const names = (await Promise.all(served)) as string[];
    expect(names.filter((n) => n.startsWith('accept failed'))).toEqual([]);
    expect(names).toHaveLength(CLIENTS + 1);
    expect(new Set(names).size).toBe(CLIENTS + 1);
    // Every connection, including the killed client's, ends disconnected.
    const deadline = Date.now() + MANY_MS;
    while (conns.some((c) => !c.disconnected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(conns.filter((c) => !c.disconnected)).toHaveLength(0);
    // And the listener still accepts.
    expect(await client(1000)).toContain('connected');
    for (const c of conns) await c.close();
    listener.close();
    await serving;
  }, 3 * MANY_MS + 60_000);
});
