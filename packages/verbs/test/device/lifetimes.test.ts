// Lifetimes the test runner's own process cannot show: exiting with live
// objects, worker teardown, and garbage collection of unclosed objects. Each
// scenario runs in a child process, which must exit cleanly (no signal).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const verbs = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const verbsInternal = fileURLToPath(new URL('../../dist/internal.js', import.meta.url));

function runChild(code: string, args: string[] = []): { status: number | null; signal: string | null; out: string } {
  const r = spawnSync(process.execPath, [...args, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, out: r.stdout + r.stderr };
}

const SETUP = `
import * as v from ${JSON.stringify(verbs)};
const ctx = v.openDevice();
const pd = ctx.allocPd();
const ch = ctx.createCompletionChannel();
const cq = ctx.createCq({ channel: ch });
const a = pd.createQp({ sendCq: cq });
const b = pd.createQp({ sendCq: cq });
a.connect(b.endpoint()); b.connect(a.endpoint());
const mr = pd.allocateMemory(1 << 16, ['LOCAL_WRITE', 'REMOTE_WRITE']);
`;

describe('lifetimes', () => {
  it('a process may exit with everything still open (closed at environment teardown)', () => {
    const r = runChild(`${SETUP}
      a.postSend({ opcode: 'RDMA_WRITE', sg: [{ mr }], remote: mr.remote() });
      b.postRecv({ sg: [{ mr }] });
      console.log('exiting with open objects');`);
    expect(r.signal).toBeNull();
    expect(r.out).toContain('exiting with open objects');
    expect(r.status).toBe(0);
  });

  it('a pending wait does not keep the process alive forever once its CQ is closed, and an idle channel never does', () => {
    const r = runChild(`${SETUP}
      const p = cq.next().catch((e) => console.log('rejected', e.code));
      setTimeout(() => ctx.close(), 100);
      await p;`);
    expect(r.signal).toBeNull();
    expect(r.out).toContain('rejected EBADF');
    expect(r.status).toBe(0);
  });

  it('a worker thread with live objects can be terminated', () => {
    const r = runChild(`
      import { Worker } from 'node:worker_threads';
      const w = new Worker(${JSON.stringify(`${SETUP}
        const { parentPort } = await import('node:worker_threads');
        parentPort.postMessage('ready');
        setInterval(() => cq.poll(), 1);`)}, { eval: true });
      await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
      await w.terminate();
      console.log('worker terminated');`);
    expect(r.signal).toBeNull();
    expect(r.out).toContain('worker terminated');
    expect(r.status).toBe(0);
  });

  it('garbage collection of unclosed, unreferenced objects releases them without crashing', () => {
    const r = runChild(
      `import * as v from ${JSON.stringify(verbs)};
      const ctx = v.openDevice();
      const maxMr = ctx.queryDevice().maxMr;
      function churn() {
        const pd = ctx.allocPd();
        const cq = ctx.createCq();
        pd.createQp({ sendCq: cq });
        for (let i = 0; i < 20; i++) pd.allocateMemory(4096);
      }
      for (let round = 0; round < 50; round++) { churn(); globalThis.gc(); await new Promise((r) => setImmediate(r)); }
      globalThis.gc(); await new Promise((r) => setTimeout(r, 50));
      // 1000 MRs were registered and never closed; ask the kernel how many
      // this process still holds.
      const { execFileSync } = await import('node:child_process');
      const mine = (kind) => JSON.parse(execFileSync('rdma', ['-j', 'resource', 'show', kind], { encoding: 'utf8' }))
        .filter((r) => r.pid === process.pid).length;
      console.log('live mr', mine('mr'), 'qp', mine('qp'), 'pd', mine('pd'));
      const pd = ctx.allocPd();
      pd.allocateMemory(4096).close();
      ctx.close();
      console.log('gc ok', maxMr > 0);`,
      ['--expose-gc'],
    );
    expect(r.signal).toBeNull();
    expect(r.out).toContain('gc ok true');
    const [, mrs, qps] = /live mr (\d+) qp (\d+)/.exec(r.out)!.map(Number);
    expect(mrs).toBeLessThan(200);
    expect(qps).toBeLessThan(20);
    expect(r.status).toBe(0);
  });

  it('a live child keeps its parent alive; once the child is closed the parent can be collected', () => {
    const r = runChild(
      `import * as v from ${JSON.stringify(verbs)};
      import { nativeHandle } from ${JSON.stringify(verbsInternal)};
      const collected = new Set();
      const registry = new FinalizationRegistry((name) => collected.add(name));
      const settle = async () => { for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); } };
      const ctx = v.openDevice();
      let mr;
      (() => {
        const pd = ctx.allocPd();
        registry.register(nativeHandle(pd), 'pd');
        mr = pd.allocateMemory(64);
      })();
      await settle();
      console.log('while the region lives, pd collected:', collected.has('pd'));
      mr.close();
      mr = undefined;
      await settle();
      console.log('after closing the region, pd collected:', collected.has('pd'));
      ctx.close();`,
      ['--expose-gc'],
    );
    expect(r.signal).toBeNull();
    expect(r.out).toContain('while the region lives, pd collected: false');
    expect(r.out).toContain('after closing the region, pd collected: true');
  });

  it('forkInit() can be called before opening a device, and forked children are safe', () => {
    const r = runChild(`import * as v from ${JSON.stringify(verbs)};
      v.forkInit();
      const ctx = v.openDevice();
      const pd = ctx.allocPd();
      // 1 MiB: glibc maps it on its own pages. A 64 KiB buffer comes from the
      // heap, and its page's neighbours vanish from the child with it (the
      // child segfaulted before exec in about 1 of 6 suite runs): see forkInit's docs.
      const mr = pd.allocateMemory(1 << 20);
      mr.buffer.fill(3);
      const { execFileSync } = await import('node:child_process');
      console.log('child says', execFileSync('sh', ['-c', 'echo forked-ok'], { encoding: 'utf8' }).trim());
      console.log('parent memory intact', mr.buffer.every((x) => x === 3));
      ctx.close();`);
    expect(r.signal).toBeNull();
    expect(r.out).toContain('child says forked-ok');
    expect(r.out).toContain('parent memory intact true');
    expect(r.status).toBe(0);
  });
});
