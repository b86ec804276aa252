/**
 * The tier between node processes (shield.ts, shield-server.ts) under attack and misuse: what
 * must not cross (the secret, tier fields, addresses the PoP may not reach), what an origin must
 * not be able to fake, and what must not leak or hang (slow origins, clients that go away).
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import { after, before, it } from 'node:test';
import { request } from 'undici';
import type { CacheRequest, OriginResponse } from '../../src/cache/index.ts';
import { varyOnVariant } from '../../src/frontend/variants/index.ts';
import { type NatsServer, startNatsServer } from '../../src/kv/nats-harness.ts';
import type { Member } from '../../src/network/membership.ts';
import { httpOrigin } from '../../src/network/origin.ts';
import { shieldTier } from '../../src/network/shield.ts';
import { type ShieldServer, startShieldServer } from '../../src/network/shield-server.ts';
import { loadTopology } from '../../src/network/topology/load.ts';
import { EgressPolicy, type RecordedOrigin } from '../../src/runtime/index.ts';
import { describeNeeding, NATS_SERVER } from '../support/programs.ts';

const SECRET = 'adversarial-network-secret-0123456789';
const topology = loadTopology('world');
const FRA = topology.pops.find((p) => p.id === 'FRA');
if (!FRA) throw new Error('no FRA in the world topology');
const REGION = FRA.shield;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describeNeeding(NATS_SERVER, 'shield tier: attacks and misuse', () => {
  let nats: NatsServer;
  let shield: ShieldServer;
  let origin: Server;
  let originUrl = '';
  const seen: { url: string; headers: IncomingMessage['headers'] }[] = [];
  let streamClosed: (() => void) | null = null;
  let closing: Promise<void> | null = null;

  before(async () => {
    nats = await startNatsServer();
    origin = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      const path = (req.url ?? '').split('?')[0];
      if (path === '/echo') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        return void res.end(JSON.stringify(req.headers));
      }
      if (path === '/tier-error') {
        // A tenant's origin answering with the tier protocol's own field.
        res.writeHead(200, { 'content-type': 'text/plain', 'outpost-tier-error': 'gotcha' });
        return void res.end('origin body');
      }
      if (path === '/tier-401') {
        res.writeHead(401, { 'content-type': 'text/plain', 'outpost-tier-error': 'unauthorized' });
        return void res.end('go away');
      }
      if (path === '/slow') {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
          res.end('slow');
        }, 1500);
        return;
      }
      if (path === '/variant') {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=300' });
        return void res.end(`variant ${req.headers['outpost-variant']}`);
      }
      if (path === '/stream') {
        // An uncacheable body that never ends unless the reader goes away.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
        const chunk = Buffer.alloc(64 * 1024, 120);
        const t = setInterval(() => res.write(chunk), 5);
        res.on('close', () => {
          clearInterval(t);
          streamClosed?.();
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=300' });
      res.end(`origin ${path}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    shield = await startShieldServer({
      nats: nats.url,
      shield: REGION,
      topology,
      secret: SECRET,
      egressAllow: ['loopback'],
      outpostVersion: 'test',
      log: () => {},
    });
  });

  after(async () => {
    // The shield's own socket to the origin first: when the shield leaked a paused origin body
    // (see the last two tests) nothing else ends it, and shield.close() waits for it forever.
    const port = originUrl ? Number(new URL(originUrl).port) : -1;
    for (const h of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles())
      if (h instanceof Socket && h.remotePort === port) h.destroy();
    origin?.closeAllConnections();
    await Promise.race([closing ?? shield?.close(), new Promise((r) => setTimeout(r, 5000))]);
    await new Promise<void>((r) => (origin ? origin.close(() => r()) : r()));
    await nats?.dispose();
  });

  const member = (): Member => ({
    id: shield.id,
    pop: REGION,
    role: 'shield',
    url: shield.url,
    outpost: 'test',
    workers: [],
    load: { inflight: 0, isolates: 0 },
    startedAt: new Date().toISOString(),
  });

  /** A PoP's tier towards the live shield, and how often it fell back to its own origin. */
  const popTier = (timeoutMs?: number, egress?: EgressPolicy) => {
    const fellBack: string[] = [];
    const tier = shieldTier({
      pop: FRA,
      secret: SECRET,
      members: () => [member()],
      suspectMs: 60_000,
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(egress ? { egress: () => egress } : {}),
      log: () => {},
    });
    const via =
      (base: RecordedOrigin): RecordedOrigin =>
      (r, h, t) => {
        fellBack.push(r.url);
        return base(r, h, t);
      };
    return { tier, fellBack, via };
  };

  const plainBase: RecordedOrigin = (r) => httpOrigin(new URL(r.url).origin)(r);
  const get = (url: string, headers: string[] = []): CacheRequest => ({ method: 'GET', url, headers });
  const text = async (a: OriginResponse) => {
    let s = '';
    if (a.body) for await (const c of a.body) s += Buffer.from(c).toString();
    return s;
  };
  const askShield = (url: string, extra: Record<string, string> = {}, method = 'GET') =>
    request(shield.url, {
      method: method as 'GET',
      headers: { 'outpost-tier-secret': SECRET, 'outpost-tier-url': url, ...extra },
    });

  it('never forwards the secret or any outpost-tier-* field to the origin', async () => {
    const r = await askShield(`${originUrl}/echo`, {
      'outpost-tier-pop': 'FRA',
      'outpost-tier-policy': b64({}),
      connection: 'keep-alive',
    });
    const got = (await r.body.json()) as Record<string, string>;
    assert.deepEqual(
      Object.keys(got).filter((k) => k.startsWith('outpost-tier-')),
      [],
    );
    assert.ok(!JSON.stringify(got).includes(SECRET));
  });

  it('malformed tier policies are refused with 400 and never crash the shield', async () => {
    const bad = [
      '!!!not-base64!!!',
      b64(null),
      b64([]),
      b64('x'),
      b64(1),
      b64({ __proto__x: 1 }),
      Buffer.from('{"__proto__":{"edgeTtl":5}}').toString('base64url'),
      b64({ byContentType: [{ types: ['text/html'], policy: null }] }),
      b64({ byContentType: [null] }),
      b64({ ttlByStatus: [[1, 2, 3]] }),
      b64({ byContentType: [{ types: ['a/b'], policy: { byContentType: [] } }] }),
    ];
    for (const p of bad) {
      const r = await askShield(`${originUrl}/x`, { 'outpost-tier-policy': p });
      assert.equal(r.statusCode, 400, p);
      await r.body.text();
    }
    for (const u of ['', 'file:///etc/passwd', '/relative', 'gopher://x/']) {
      const r = await askShield(u);
      assert.equal(r.statusCode, 400, u);
      await r.body.text();
    }
    const ok = await fetch(`${shield.url}/healthz`);
    assert.equal(ok.status, 200);
  });

  it("an origin's own outpost-tier-error field is not taken for the shield's", async () => {
    const { tier, fellBack, via } = popTier();
    const a = await tier(via(plainBase), { cacheEverything: true }, null)(get(`${originUrl}/tier-error`));
    assert.equal(a.status, 200);
    assert.equal(await text(a), 'origin body');
    assert.deepEqual(fellBack, []);
  });

  it('an origin answering 401 + outpost-tier-error does not make the PoP drop its shield', async () => {
    const { tier, fellBack, via } = popTier();
    const a = await tier(via(plainBase), {}, null)(get(`${originUrl}/tier-401`));
    await text(a);
    const b = await tier(via(plainBase), {}, null)(get(`${originUrl}/innocent-${Date.now()}`));
    await text(b);
    assert.deepEqual(fellBack, [], 'a tenant origin switched shielding off for the whole PoP');
  });

  it('a slow origin is a failed fill, not a failed shield: the origin is not asked twice and the shield stays', async () => {
    const { tier, fellBack, via } = popTier(500);
    const before = seen.filter((s) => s.url === '/slow').length;
    await assert.rejects(async () => text(await tier(via(plainBase), {}, null)(get(`${originUrl}/slow`))));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(seen.filter((s) => s.url === '/slow').length - before, 1, 'the origin was asked twice');
    const b = await tier(via(plainBase), {}, null)(get(`${originUrl}/after-slow-${Date.now()}`));
    await text(b);
    assert.deepEqual(fellBack, [], 'the PoP fell back to the origin (and suspects the shield)');
  });

  it("the PoP's egress policy still applies to what it fills through the shield", async () => {
    // The PoP's own origin: its workers' egress policy, which (by default) refuses loopback.
    const egress = new EgressPolicy({});
    const base: RecordedOrigin = async (r) => {
      const res = await request(r.url, { method: 'GET', dispatcher: egress.dispatcher });
      return { status: res.statusCode, statusText: '', headers: [], body: res.body };
    };
    try {
      await assert.rejects(base(get(`${originUrl}/private`), null, false), /refused/);
      const { tier } = popTier(undefined, egress);
      await assert.rejects(
        async () => text(await tier(base, { namespace: 'tenant' }, null)(get(`${originUrl}/private`))),
        /refused/,
        'a tenant reached an address its PoP refuses, through the shield',
      );
    } finally {
      await egress.close();
    }
  });

  it("a site's fill through the shield reaches the site's origin, not its public URL (the PoP fills it)", async () => {
    // As site-serve.ts: the cache request names the public URL; the base maps it to the origin.
    const base: RecordedOrigin = (r) => httpOrigin(originUrl)(r);
    const { tier } = popTier();
    const a = await tier(base, { namespace: '' }, null, { site: true })(get('http://www.site.invalid/page'));
    assert.equal(a.status, 200);
    assert.equal(await text(a), 'origin /page');
  });

  it('A/B variants stay apart through the shield (site fills stay with the PoP)', async () => {
    const base = varyOnVariant(plainBase);
    const { tier } = popTier();
    const url = `${originUrl}/variant`;
    const a = await tier(base, { namespace: '' }, null, { site: true })(get(url, ['outpost-variant', 'a']));
    assert.equal(await text(a), 'variant a');
    const b = await tier(base, { namespace: '' }, null, { site: true })(get(url, ['outpost-variant', 'b']));
    assert.equal(await text(b), 'variant b', 'variant b was served variant a from the shield');
  });

  it('a request the PoP accepted (32 KiB headers) is not answered 431 by the shield', async () => {
    const { tier } = popTier();
    const cookie = `c=${'x'.repeat(20_000)}`;
    const a = await tier(plainBase, {}, null)(get(`${originUrl}/big-${Date.now()}`, ['cookie', cookie]));
    await text(a);
    assert.equal(a.status, 200, `the shield answered ${a.status}, taken for the origin's answer`);
  });

  it('mixed-case tier fields from the PoP request are stripped too', async () => {
    const { tier } = popTier();
    const a = await tier(
      plainBase,
      {},
      null,
    )(get(`${originUrl}/real-${Date.now()}`, ['Outpost-Tier-Url', `${originUrl}/smuggled?`]));
    assert.match(await text(a), /origin \/real-/);
  });

  it('a client that goes away mid-body releases the origin', async () => {
    const closed = new Promise<void>((r) => {
      streamClosed = r;
    });
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(shield.url, {
        headers: { 'outpost-tier-secret': SECRET, 'outpost-tier-url': `${originUrl}/stream` },
      });
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', resolve);
      req.end();
      setTimeout(() => reject(new Error('no response')), 5000);
    });
    const released = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
    ]);
    assert.ok(released, 'the shield still holds the origin connection 3 s after its client left');
  });

  it('close() finishes while an origin request is in flight', async () => {
    // Left over from the test above when the shield leaked the origin's body: an undici
    // request in flight on the egress dispatcher, which close() waits for (Agent.close()).
    closing = shield.close();
    const done = await Promise.race([
      closing.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
    ]);
    assert.ok(done, 'shield.close() has not finished after 3 s');
  });
});
