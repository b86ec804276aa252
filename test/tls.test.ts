// The PoP front over TLS: HTTP/2 and HTTP/1.1 by ALPN on one port with a development
// certificate, request.cf's protocol fields, TLS session resumption, and a graceful shutdown
// that lets a request in flight finish.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

let dev: TestDev;
let project: ReturnType<typeof copyFixture>;

before(async () => {
  project = copyFixture('kv');
  dev = await startFixture(project.dir, { tls: true });
});
after(async () => {
  await dev.close();
  project.cleanup();
});

function h2get(path: string, base = dev.url): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const c = http2.connect(base, { rejectUnauthorized: false });
    c.on('error', reject);
    const r = c.request({ ':path': path });
    let status = 0;
    let body = '';
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (d) => (body += d));
    r.on('end', () => {
      c.close();
      resolve({ status, body });
    });
    r.on('error', reject);
  });
}

describe('TLS and HTTP/2 at the PoP front', () => {
  it('serves HTTP/2 and HTTP/1.1 on one HTTPS port; request.cf says which', async () => {
    assert.match(dev.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const h2 = await h2get('/cf');
    const cf2 = (JSON.parse(h2.body) as { result: { httpProtocol: string; tlsVersion: string } }).result;
    assert.deepEqual([h2.status, cf2.httpProtocol, cf2.tlsVersion], [200, 'HTTP/2', 'TLSv1.3']);
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    try {
      const r = await request(`${dev.url}/cf`, { dispatcher: agent });
      const cf1 = ((await r.body.json()) as { result: { httpProtocol: string } }).result;
      assert.equal(cf1.httpProtocol, 'HTTP/1.1');
    } finally {
      await agent.close();
    }
  });
  it('resumes TLS sessions', async () => {
    const port = Number(new URL(dev.url).port);
    const connect = (session?: Buffer) =>
      new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
        let ticket: Buffer | undefined;
        const s = tls.connect({
          host: '127.0.0.1',
          port,
          rejectUnauthorized: false,
          session,
          ALPNProtocols: ['http/1.1'],
        });
        s.on('session', (t) => (ticket = t));
        s.on('error', reject);
        s.on('secureConnect', () => {
          s.write('GET /cf HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
        });
        s.on('data', () => {});
        s.on('end', () => resolve({ reused: s.isSessionReused(), session: ticket }));
      });
    const first = await connect();
    assert.ok(first.session, 'a session ticket was issued');
    const second = await connect(first.session);
    assert.equal(second.reused, true);
  });
});

describe('h2c (HTTP/2 in the clear)', () => {
  it('serves HTTP/2 with prior knowledge on its own port, beside HTTP/1.1', async () => {
    const p = copyFixture('kv');
    const d = await startFixture(p.dir, { h2cPort: 0 });
    try {
      const h2 = await h2get('/cf', d.h2cUrl);
      assert.deepEqual(
        [h2.status, (JSON.parse(h2.body) as { result: { httpProtocol: string } }).result.httpProtocol],
        [200, 'HTTP/2'],
      );
      const h1 = (await (await fetch(`${d.url}/cf`)).json()) as { result: { httpProtocol: string } };
      assert.equal(h1.result.httpProtocol, 'HTTP/1.1');
    } finally {
      await d.close();
      p.cleanup();
    }
  });
});

describe('graceful shutdown', () => {
  it('carries WebSockets over TLS (wss://, an HTTP/1.1 upgrade chosen by ALPN)', async () => {
    const ws = await startFixture('websocket', { tls: true });
    try {
      const client = new WebSocket(`${ws.url.replace('https:', 'wss:')}/echo`, { rejectUnauthorized: false });
      const got = await new Promise<string>((resolve, reject) => {
        client.on('open', () => client.send('over tls'));
        client.on('message', (d) => resolve(String(d)));
        client.on('error', reject);
      });
      assert.equal(got, 'echo: over tls');
      client.close();
    } finally {
      await ws.close();
    }
  });
  it('lets a request in flight finish, then stops', async () => {
    const p = copyFixture('kv');
    // Reading 25 MiB in the isolate can pass 1 s of CPU on a loaded machine (isolated-vm's CPU
    // clock runs while the thread waits for a core): this test is about draining, not limits.
    const d = await startFixture(p.dir, { limits: { cpuMs: 30_000 } });
    try {
      // A 25 MiB upload keeps the request in flight while close() begins.
      const big = 'x'.repeat(25 * 1024 * 1024);
      const inflight = fetch(`${d.url}/put-body?key=late`, { method: 'POST', body: big }).then(async (r) => [
        r.status,
        await r.text(),
      ]);
      await new Promise((r) => setTimeout(r, 30));
      const closing = d.close();
      const [status, body] = await inflight;
      assert.deepEqual([status, body], [200, '{"result":"undefined"}']);
      await closing;
      await assert.rejects(fetch(`${d.url}/get?key=late`));
    } finally {
      p.cleanup();
    }
  });
});
