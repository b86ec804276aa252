/**
 * The router in front of node processes, attacked from the client side: it must not let a
 * client choose the address nodes see, smuggle hop-by-hop fields through, or get a request with
 * a body sent twice by its failover.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadTopology, type Member, type RouterServer, startRouterServer } from '../../src/network/index.ts';
import { memoryObserver } from '../../src/observability/index.ts';

interface FakeNode {
  server: Server;
  url: string;
  seen: IncomingMessage[];
  bodies: string[];
}

async function fakeNode(behaviour: 'ok' | 'reset'): Promise<FakeNode> {
  const seen: IncomingMessage[] = [];
  const bodies: string[] = [];
  const server = createServer(async (req, res) => {
    seen.push(req);
    let body = '';
    for await (const c of req) body += c;
    bodies.push(body);
    if (behaviour === 'reset') return req.socket.destroy();
    res.writeHead(200, { connection: 'x-internal', 'x-internal': 'node secret', 'keep-alive': 'timeout=5' });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, bodies };
}

const member = (id: string, pop: string, url: string): Member => ({
  id,
  pop,
  url,
  outpost: '0',
  workers: [],
  load: { inflight: 0, isolates: 0 },
  startedAt: '',
});

describe('the router, attacked by clients', () => {
  let good: FakeNode;
  let bad: FakeNode;
  let router: RouterServer;
  let members: Member[] = [];

  before(async () => {
    good = await fakeNode('ok');
    bad = await fakeNode('reset');
    router = await startRouterServer({
      members: { members: () => members, leaveMs: 60_000, onChange: () => {} },
      topology: loadTopology('world'),
      port: 0,
      upstreamTimeoutMs: 2000,
      observer: memoryObserver(),
    });
  });
  after(async () => {
    await router.close();
    good.server.close();
    bad.server.close();
  });

  it('appends the address it saw to X-Forwarded-For: a client cannot choose the last entry', async () => {
    members = [member('fra-1', 'FRA', good.url)];
    router.refresh();
    const r = await fetch(router.url, {
      headers: { 'x-forwarded-for': '203.0.113.9', 'outpost-pop': 'FRA' },
    });
    assert.equal(r.status, 200);
    const xff = good.seen.at(-1)?.headers['x-forwarded-for'] as string;
    assert.equal(xff.split(',').at(-1)?.trim(), '127.0.0.1', xff);
  });

  it('drops hop-by-hop fields both ways, including those Connection names', async () => {
    // fetch() will not send a Connection field: a raw request does.
    const headers = await new Promise<IncomingMessage['headers']>((resolve, reject) => {
      const req = request(
        router.url,
        { headers: { connection: 'x-smuggle', 'x-smuggle': 'to the node', 'outpost-pop': 'FRA' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(good.seen.at(-1)?.headers['x-smuggle'], undefined);
    assert.equal(headers['x-internal'], undefined);
    assert.equal(headers['outpost-node'], 'fra-1');
  });

  it('never sends a request with a body to a second node after the first failed mid-request', async () => {
    members = [member('bad-1', 'FRA', bad.url), member('good-1', 'LHR', good.url)];
    router.refresh();
    const before = good.bodies.length;
    const r = await fetch(router.url, {
      method: 'POST',
      body: 'charge the card once',
      headers: { 'outpost-client-location': 'Frankfurt' },
    });
    assert.equal(r.status, 502);
    assert.equal(r.headers.get('outpost-error'), 'NODE_FAILED');
    assert.equal(good.bodies.length, before, 'the POST was not replayed elsewhere');
    assert.deepEqual(bad.bodies.slice(-1), ['charge the card once']);
  });

  it('retries a GET on the next PoP when a node fails it', async () => {
    members = [member('bad-2', 'FRA', bad.url), member('good-2', 'LHR', good.url)];
    router.refresh();
    const r = await fetch(router.url, { headers: { 'outpost-client-location': 'Frankfurt' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('outpost-node'), 'good-2');
  });

  it('answers a bad location with 400, an unknown PoP or no node ever seen with 503, naming it', async () => {
    const loc = await fetch(router.url, { headers: { 'outpost-client-location': 'Atlantis' } });
    assert.equal(loc.status, 400);
    const pop = await fetch(router.url, { headers: { 'outpost-pop': 'XYZ' } });
    assert.equal(pop.status, 503);
    assert.match(await pop.text(), /No PoP "XYZ"/);
    // An empty table after a full one is NATS trouble, not a dead network: the last nodes known serve.
    members = [];
    router.refresh();
    assert.equal((await fetch(router.url)).status, 200);
    // A router that never saw a node says so.
    const fresh = await startRouterServer({
      members: { members: () => [], leaveMs: 60_000, onChange: () => {} },
      topology: loadTopology('world'),
      port: 0,
      observer: memoryObserver(),
    });
    try {
      const none = await fetch(fresh.url);
      assert.equal(none.status, 503);
      assert.equal(none.headers.get('outpost-error'), 'NO_LIVE_NODE');
    } finally {
      await fresh.close();
    }
  });
});
