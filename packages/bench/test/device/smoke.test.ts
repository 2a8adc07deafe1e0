// rdmajs-bench on the device, briefly: one bandwidth and one latency test
// as server and client processes (the client's JSON report checked), and
// the sdp stream benchmark over @rdmajs/sdp. Figures are not judged here
// (that is scripts/bench.sh's job), only that every test runs to its end.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { openDevice } from '@rdmajs/verbs';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const TIMEOUT_MS = 150_000;

function bench(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const ip = (() => {
  using ctx = openDevice();
  return ctx.defaultGid(1).ip ?? '127.0.0.1';
})();

/** Server and client of one test; the client's JSON report. */
async function pair(test: string, port: number, args: string[]) {
  const server = bench([test, '-p', String(port)]);
  const client = await bench([test, ip, '-p', String(port), '--json', ...args]);
  const s = await server;
  expect(client.code, client.out).toBe(0);
  expect(s.code, s.out).toBe(0);
  const line = client.out.split('\n').find((l) => l.startsWith('{"tool":"rdmajs-bench"'));
  expect(line, client.out).toBeDefined();
  return JSON.parse(line!) as { test: string; role: string; results: Record<string, number>[] };
}

describe('rdmajs-bench on the device', () => {
  it('write_bw: a bandwidth row', async () => {
    const r = await pair('write_bw', 18531, ['-s', '4096', '-n', '200']);
    expect(r).toMatchObject({ test: 'write_bw', role: 'client' });
    expect(r.results[0]).toMatchObject({ bytes: 4096, iterations: 200 });
    expect(r.results[0]!.bwMiBps).toBeGreaterThan(0);
  });

  it('send_lat: a latency row with percentiles', async () => {
    const r = await pair('send_lat', 18532, ['-s', '2', '-n', '100']);
    expect(r.results[0]).toMatchObject({ bytes: 2, iterations: 100 });
    expect(r.results[0]!.p99Us).toBeGreaterThanOrEqual(r.results[0]!.tTypicalUs!);
  });

  it('send_lat -e: the event-driven loop (CQ wake-ups, no busy polling) runs to its end', async () => {
    const r = await pair('send_lat', 18534, ['-s', '2', '-n', '300', '-e']);
    expect(r.results[0]).toMatchObject({ bytes: 2, iterations: 300 });
    expect(r.results[0]!.p99Us).toBeGreaterThanOrEqual(r.results[0]!.tTypicalUs!);
    expect(JSON.stringify(r)).toContain('"completions":"events"');
  });

  it('sdp: a ping-pong over @rdmajs/sdp', async () => {
    const server = spawn(process.execPath, [cli, 'sdp', '-p', '18533'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('sdp server did not start')), TIMEOUT_MS);
        server.stderr.on('data', (d: Buffer) => String(d).includes('server on port') && (clearTimeout(timer), resolve()));
      });
      const client = await bench(['sdp', ip, '-p', '18533', '-S', '64', '-C', '50', '--warmup', '20', '--json']);
      expect(client.code, client.out).toBe(0);
      const result = JSON.parse(client.out.trim().split('\n').at(-1)!);
      expect(result.usecPerXfer).toBeGreaterThan(0);
      expect(result.warmup).toBe(20);
    } finally {
      server.kill('SIGKILL');
    }
  });
});
