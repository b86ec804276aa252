// Attacks that used CDN proxy mode and passThroughOnException() as an open proxy: the request
// target was resolved against the origin's URL, so `GET //127.0.0.1:PORT/x` (a scheme-relative
// reference) — or `/.//127.0.0.1:PORT/x`, which URL parsing turns into it — replaced the origin's
// host, loopback included, for GET and POST alike. Now the origin URL is the configured origin
// with the request's path set on it: such a target is a path on the origin, and nothing reaches
// another host. Normal requests are answered as before.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { builtinTopology } from '../../src/network/index.ts';
import { memoryObserver } from '../../src/observability/index.ts';
import { type ProxyServer, startProxy } from '../../src/pop/index.ts';
import { startFixture, type TestDev } from '../helpers.ts';

interface Recorder {
  url: string;
  port: number;
  seen: string[];
  server: Server;
}

/** A server on loopback that records each request target it gets and answers `${name} saw …`. */
async function recorder(name: string): Promise<Recorder> {
  const seen: string[] = [];
  const server = createServer(async (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    for await (const _ of req);
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(`${name} saw ${req.method} ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, seen, server };
}

/** One request with `path` sent exactly as given (fetch would normalize it). */
function send(
  port: number,
  path: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let origin: Recorder;
let internal: Recorder;
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  origin = await recorder('origin');
  internal = await recorder('internal');
});
after(async () => {
  for (const close of closers) await close();
  for (const r of [origin, internal])
    await new Promise<void>((done) => {
      r.server.close(() => done());
      r.server.closeAllConnections();
    });
});

/** Targets that named another host (the internal server) when resolved against the origin. */
const attacks = () => [
  `//127.0.0.1:${internal.port}/secret`,
  `/.//127.0.0.1:${internal.port}/secret`,
  `/%2e//127.0.0.1:${internal.port}/secret`,
  `/\\127.0.0.1:${internal.port}/secret`,
];

/** The attack either gets the origin's answer for a path on the origin, or a 400; never the internal host. */
function assertContained(r: { status: number; body: string }, target: string) {
  assert.doesNotMatch(r.body, /internal saw/, target);
  if (r.status !== 400) assert.match(r.body, /^origin saw (GET|POST) \/\//, `${target}: ${r.body}`);
}

describe('CDN proxy mode', () => {
  let proxy: ProxyServer;
  let world: ProxyServer;
  before(async () => {
    proxy = await startProxy({ origin: origin.url, port: 0, observer: memoryObserver() });
    // With shields and an upper tier between the PoP and the origin.
    world = await startProxy({
      origin: origin.url,
      port: 0,
      network: { topology: builtinTopology('world')! },
      observer: memoryObserver(),
    });
    closers.push(
      () => proxy.close(),
      () => world.close(),
    );
  });

  it('a target beginning with // (or turning into it) stays a path on the origin: GET, POST, tiered', async () => {
    for (const p of [proxy, world])
      for (const target of attacks()) {
        assertContained(await send(p.port, target), target);
        assertContained(await send(p.port, target, 'POST', 'payload'), `POST ${target}`);
      }
    assert.deepEqual(internal.seen, []);
    assert.ok(origin.seen.includes(`GET //127.0.0.1:${internal.port}/secret`), origin.seen.join('\n'));
    assert.ok(origin.seen.includes(`POST //127.0.0.1:${internal.port}/secret`), origin.seen.join('\n'));
  });

  it('an absolute-form target does not choose the host either', async () => {
    const r = await send(proxy.port, `http://127.0.0.1:${internal.port}/secret`);
    assert.equal(r.body, 'origin saw GET /secret');
    assert.deepEqual(internal.seen, []);
  });

  it('a neighbouring ordinary request is answered by the origin as before', async () => {
    assert.deepEqual(await send(proxy.port, '/page?x=1'), { status: 200, body: 'origin saw GET /page?x=1' });
    assert.deepEqual(await send(world.port, '/page?x=2'), { status: 200, body: 'origin saw GET /page?x=2' });
  });
});

describe('passThroughOnException()', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('pass-through', { origin: origin.url });
    closers.push(() => dev.close());
  });

  it('replays a failed request to the configured origin only, whatever its target', async () => {
    for (const target of attacks()) assertContained(await send(dev.port, target), target);
    assert.deepEqual(internal.seen, []);
    assert.ok(origin.seen.includes(`GET //127.0.0.1:${internal.port}/secret`), origin.seen.join('\n'));
  });

  it('a neighbouring request is unaffected: the worker answers, a failure passes through', async () => {
    assert.deepEqual(await send(dev.port, '/ok'), { status: 200, body: 'worker ok' });
    assert.deepEqual(await send(dev.port, '/fails?q=1'), { status: 200, body: 'origin saw GET /fails?q=1' });
  });
});
