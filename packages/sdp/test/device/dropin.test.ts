// Drop-in mode: Node's own http server and client, unmodified, over SDP —
// through install() in-process and through the RDMAJS_SDP env switch.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import * as sdp from '../../src/index.js';
import { deviceIp, once, pattern } from './helpers.js';

const ip = deviceIp();
const register = fileURLToPath(new URL('../../dist/register.js', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function request(options: http.RequestOptions, body?: Buffer): Promise<{ status: number; body: Buffer; socket: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), socket: req.socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('request timed out')));
    req.end(body);
  });
}

describe('drop-in mode', () => {
  it("routes Node's http server and client over SDP, matching targets only", async () => {
    const uninstall = sdp.install({ match: [`${ip}:*`] });
    cleanups.push(uninstall);
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.socket.constructor.name);
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on('end', () => {
        res.setHeader('content-type', 'text/plain');
        res.end(`${req.method} ${req.url} ${n} ${h.digest('hex')}`);
      });
    });
    // A pause of the (emulated) machine longer than the default 5 s would
    // let the server time out the idle keep-alive socket just as the client
    // reuses it: Node's keep-alive race, ECONNRESET over TCP as over SDP.
    server.keepAliveTimeout = 60_000;
    server.listen(0, ip);
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
    const { port } = server.address() as { port: number };
    // Not a TCP port: nothing listens there over TCP.
    expect(await tcpRefused(port)).toBe(true);

    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const get = await request({ host: ip, port, path: '/hello', agent });
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe(`GET /hello 0 ${createHash('sha256').digest('hex')}`);
    expect(get.socket).toBeInstanceOf(sdp.SdpSocket);

    const body = pattern('post', 3 * 1024 * 1024 + 17);
    const post = await request({ host: ip, port, path: '/upload', method: 'POST', agent }, body);
    expect(post.body.toString()).toBe(`POST /upload ${body.length} ${createHash('sha256').update(body).digest('hex')}`);
    expect(seen).toEqual(['SdpSocket', 'SdpSocket']);

    // Targets outside the match stay on TCP.
    const plain = net.createServer((s) => s.end('tcp')).listen(0, '127.0.0.1');
    await once(plain, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => plain.close(() => resolve())));
    const c = net.connect((plain.address() as net.AddressInfo).port, '127.0.0.1');
    expect(c).toBeInstanceOf(net.Socket);
    const [d] = await once<Buffer>(c, 'data');
    expect(String(d)).toBe('tcp');
  });

  it('RDMAJS_SDP + --import @rdmajs/sdp/register switch an unmodified app over', async () => {
    const app = `
      import http from 'node:http';
      const server = http.createServer((req, res) => res.end('over ' + req.socket.constructor.name));
      server.listen(0, ${JSON.stringify(ip)}, () => {
        http.get({ host: ${JSON.stringify(ip)}, port: server.address().port, path: '/' }, (res) => {
          let body = '';
          const kind = res.socket.constructor.name;
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            console.log(body, '/ client', kind);
            server.close();
            server.closeAllConnections?.();
          });
        });
      });
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', register, '--input-type=module', '-e', app], {
        env: { ...process.env, RDMAJS_SDP: `${ip}:*` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d));
      child.stderr.on('data', (d: Buffer) => (text += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(text);
        else reject(new Error(`app exited ${code}: ${text}`));
      });
    });
    expect(out.trim()).toBe('over SdpSocket / client SdpSocket');
  });
});

function tcpRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    sdp.uninstall();
    const s = net.connect(port, ip);
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (e: Error & { code: string }) => resolve(e.code === 'ECONNREFUSED'));
    sdp.install({ match: [`${ip}:*`] });
  });
}
