// Workers see who is asking: CF-Connecting-IP, X-Forwarded-For, X-Real-IP, CF-Ray, CF-Visitor
// and CF-IPCountry set by the PoP as Cloudflare sets them; cf-ray on every response; a client
// cannot choose its own address unless a trusted proxy header is configured.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { memoryObserver } from '../src/observability/index.ts';
import { startProxy } from '../src/pop/index.ts';
import { copyFixture, startFixture, startUpstream, type TestDev } from './helpers.ts';

type Echo = { headers: Record<string, string> };
const RAY = /^[0-9a-f]{16}-([A-Z0-9]+)$/;
const SPOOFED = {
  'cf-connecting-ip': '6.6.6.6',
  'x-real-ip': '6.6.6.6',
  'cf-ray': '0000000000000000-EVIL',
  'cf-visitor': '{"scheme":"https"}',
  'x-forwarded-for': '6.6.6.6',
};

/** GET from a chosen local address (the whole of 127/8 is loopback on Linux). */
function getFrom(url: string, localAddress: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = httpRequest(url, { localAddress, headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('one local PoP', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('api');
  });
  after(() => dev.close());

  it('the worker sees the socket peer as the client, whatever the client claims; the ray matches the response', async () => {
    const res = await fetch(`${dev.url}/echo`, { headers: SPOOFED });
    const h = ((await res.json()) as Echo).headers;
    assert.equal(h['cf-connecting-ip'], '127.0.0.1');
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(
      h['x-forwarded-for'],
      '6.6.6.6, 127.0.0.1',
      "the client's chain, with the address the PoP saw appended",
    );
    assert.equal(h['cf-visitor'], '{"scheme":"http"}');
    assert.equal(h['cf-ipcountry'], 'XX', 'no location is known for a client of the local PoP');
    assert.match(h['cf-ray'], RAY);
    assert.equal(h['cf-ray'].split('-')[1], 'DEV');
    assert.equal(res.headers.get('cf-ray'), h['cf-ray']);
  });
  it('another client address is another client', async () => {
    const r = await getFrom(`${dev.url}/echo`, '127.0.0.2');
    assert.equal((JSON.parse(r.body) as Echo).headers['cf-connecting-ip'], '127.0.0.2');
  });
  it('every response carries cf-ray: errors, admin answers, each one its own', async () => {
    const thrown = await fetch(`${dev.url}/throw`);
    assert.equal(thrown.status, 500);
    assert.match(thrown.headers.get('cf-ray') ?? '', RAY);
    const admin = await fetch(`${dev.url}/__outpost/network`);
    assert.equal(admin.status, 401);
    assert.match(admin.headers.get('cf-ray') ?? '', RAY);
    const tooBig = await fetch(`${dev.url}/echo`, {
      method: 'POST',
      headers: { 'content-length': String(200 * 1024 * 1024) },
      body: 'x',
    }).catch(() => null);
    if (tooBig) assert.match(tooBig.headers.get('cf-ray') ?? '', RAY);
    const a = (await fetch(`${dev.url}/status?s=204`)).headers.get('cf-ray');
    const b = (await fetch(`${dev.url}/status?s=204`)).headers.get('cf-ray');
    assert.notEqual(a, b);
  });
});

describe('behind a proxy the operator runs (trusted proxy header)', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('api', { trustedProxyHeader: 'X-Forwarded-For' });
  });
  after(() => dev.close());

  it('the client is the address the proxy appended; the chain is passed on as it came', async () => {
    const res = await fetch(`${dev.url}/echo`, {
      headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.5', 'cf-connecting-ip': '6.6.6.6' },
    });
    const h = ((await res.json()) as Echo).headers;
    assert.equal(h['cf-connecting-ip'], '203.0.113.5');
    assert.equal(h['x-real-ip'], '203.0.113.5');
    assert.equal(h['x-forwarded-for'], '198.51.100.1, 203.0.113.5');
  });
  it('a request without the header (or with garbage in it) is the socket peer', async () => {
    const plain = ((await (await fetch(`${dev.url}/echo`)).json()) as Echo).headers;
    assert.equal(plain['cf-connecting-ip'], '127.0.0.1');
    const junk = await fetch(`${dev.url}/echo`, { headers: { 'x-forwarded-for': 'not-an-ip' } });
    assert.equal(((await junk.json()) as Echo).headers['cf-connecting-ip'], '127.0.0.1');
  });
  it('a bad header name is refused, naming it', async () => {
    await assert.rejects(
      startFixture('api', { trustedProxyHeader: 'X Forwarded' }),
      /trustedProxyHeader must be a header name.*"X Forwarded"/,
    );
    await assert.rejects(
      startFixture('api', { trustedProxyHeader: 'Forwarded' }),
      /RFC 7239 Forwarded is not supported/,
    );
  });
});

describe('the rate-limit example keys clients by CF-Connecting-IP', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture(join(import.meta.dirname, '..', 'examples', 'rate-limit'), {
      durableObjects: { dir: null },
    });
  });
  after(() => dev.close());

  it('each client address has its own bucket, and a spoofed header does not escape one', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++)
      statuses.push(
        (await getFrom(`${dev.url}/check`, '127.0.0.3', { 'cf-connecting-ip': `10.0.0.${i}` })).status,
      );
    assert.deepEqual(statuses, [...Array(10).fill(200), 429]);
    assert.equal(
      (await getFrom(`${dev.url}/check`, '127.0.0.4')).status,
      200,
      'another client, another bucket',
    );
  });
});

describe('a network: the country and the PoP of the client', () => {
  let dev: TestDev;
  let project: ReturnType<typeof copyFixture>;
  before(async () => {
    project = copyFixture('api');
    dev = await startFixture(project.dir, { topology: 'world' });
  });
  after(async () => {
    await dev.close();
    project.cleanup();
  });

  it('CF-IPCountry is the client location’s country and CF-Ray names the PoP that served', async () => {
    const res = await fetch(`${dev.url}/echo`, { headers: { 'outpost-client-location': 'Frankfurt' } });
    const h = ((await res.json()) as Echo).headers;
    assert.equal(h['cf-ipcountry'], 'DE');
    assert.equal(h['cf-ray'].split('-')[1], 'FRA');
    assert.equal(res.headers.get('cf-ray'), h['cf-ray']);
  });
  it('a location given as coordinates has no known country: XX', async () => {
    const res = await fetch(`${dev.url}/echo`, { headers: { 'outpost-client-location': '0.5,-30.2' } });
    assert.equal(((await res.json()) as Echo).headers['cf-ipcountry'], 'XX');
  });
});

describe('over TLS', () => {
  it('CF-Visitor says https', async () => {
    const project = copyFixture('api');
    const dev = await startFixture(project.dir, { tls: true });
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    try {
      const r = await request(`${dev.url}/echo`, { dispatcher: agent });
      const h = ((await r.body.json()) as Echo).headers;
      assert.equal(h['cf-visitor'], '{"scheme":"https"}');
      assert.match(String(r.headers['cf-ray']), RAY);
    } finally {
      await agent.close();
      await dev.close();
      project.cleanup();
    }
  });
});

describe('CDN proxy mode', () => {
  it('the origin gets the client headers, a client cannot spoof them, every response has cf-ray', async () => {
    const upstream = await startUpstream();
    let seen: Record<string, unknown> = {};
    upstream.routes.set('/who', (req, res) => {
      seen = req.headers;
      res.end('ok');
    });
    const proxy = await startProxy({ origin: upstream.url, port: 0, observer: memoryObserver() });
    try {
      const res = await fetch(`${proxy.url}/who`, { headers: SPOOFED });
      await res.text();
      assert.equal(seen['cf-connecting-ip'], '127.0.0.1');
      assert.equal(seen['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
      assert.equal(seen['cf-visitor'], '{"scheme":"http"}');
      assert.equal(seen['cf-ipcountry'], 'XX');
      assert.equal(res.headers.get('cf-ray'), seen['cf-ray']);
      assert.match(res.headers.get('cf-ray') ?? '', RAY);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
  it('with a trusted proxy header from the config', async () => {
    const upstream = await startUpstream();
    let seen: Record<string, unknown> = {};
    upstream.routes.set('/who', (req, res) => {
      seen = req.headers;
      res.end('ok');
    });
    const proxy = await startProxy({
      origin: upstream.url,
      port: 0,
      observer: memoryObserver(),
      trustedProxyHeader: 'CF-Connecting-IP',
    });
    try {
      await (await fetch(`${proxy.url}/who`, { headers: { 'cf-connecting-ip': '203.0.113.9' } })).text();
      assert.equal(seen['cf-connecting-ip'], '203.0.113.9');
      assert.equal(seen['x-forwarded-for'], '203.0.113.9');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
