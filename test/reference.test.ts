// The reference application (examples/reference) end to end on the `world` topology: each of
// the seed's patterns over HTTP and a WebSocket, as a visitor and an operator would see them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { parseConfigText, validateProxyConfig } from '../src/config/index.ts';
import { startFixture, type TestDev } from './helpers.ts';

const examples = join(import.meta.dirname, '..', 'examples');
const dir = join(examples, 'reference');

type Origin = { url: string; stats: { byPath: Map<string, number> }; close(): Promise<void> };

describe('the reference application on the world topology', () => {
  let origin: Origin;
  let dev: TestDev;
  let tmp: string;
  const agent = new Agent();
  const get = (path: string, headers: Record<string, string> = {}) =>
    request(`${dev.url}${path}`, { headers, dispatcher: agent });
  const originHits = (path: string) => origin.stats.byPath.get(path) ?? 0;

  before(async () => {
    const { startOrigin } = (await import(join(dir, 'origin', 'server.mjs'))) as {
      startOrigin(port: number, o?: { renderMs?: number; recommendationsMs?: number }): Promise<Origin>;
    };
    origin = await startOrigin(0, { renderMs: 5, recommendationsMs: 400 });
    // The example's own outpost.toml, pointed at this test's origin.
    const text = readFileSync(join(dir, 'outpost.toml'), 'utf8').replaceAll(
      'http://127.0.0.1:8790',
      origin.url,
    );
    const config = validateProxyConfig(parseConfigText('outpost.toml', text), 'outpost.toml', dir);
    tmp = mkdtempSync(join(tmpdir(), 'outpost-reference-'));
    dev = await startFixture(dir, {
      topology: 'world',
      from: 'Frankfurt',
      buildRoot: examples,
      kv: { file: join(tmp, 'kv.sqlite'), propagationMs: 0 },
      durableObjects: { dir: null },
      ...(config.security ? { security: config.security } : {}),
      site: {
        origin: config.origin,
        zone: config.zone,
        policies: config.policies,
        experiments: config.experiments,
        esi: config.esi,
        earlyHints: config.earlyHints,
      },
    });
  });
  after(async () => {
    await dev.close();
    await origin.close();
    await agent.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the home page streams: the shell leaves before the personalised part, which the origin is slow to give', async () => {
    const started = performance.now();
    const res = await get('/');
    assert.equal(res.statusCode, 200);
    const chunks = res.body[Symbol.asyncIterator]();
    const first = Buffer.from((await chunks.next()).value as Uint8Array).toString();
    const ttfb = performance.now() - started;
    let rest = '';
    for (let c = await chunks.next(); !c.done; c = await chunks.next())
      rest += Buffer.from(c.value).toString();
    const total = performance.now() - started;
    assert.match(first, /<header>.*Served from FRA to Frankfurt, DE/);
    assert.doesNotMatch(first, /recommendations/);
    assert.match(rest, /Best sellers in DE/);
    assert.ok(
      total - ttfb >= 350,
      `first byte at ${ttfb.toFixed(0)} ms, the whole page at ${total.toFixed(0)} ms`,
    );
  });

  it('geo personalisation and the A/B bucket: another continent, another PoP; the bucket sticks', async () => {
    const res = await get('/', { 'outpost-client-location': 'Mumbai' });
    assert.equal(res.headers['outpost-pop'], 'BOM');
    const cookie = String(res.headers['set-cookie']);
    const bucket = /^outpost_ab_hero=(classic|bold);/.exec(cookie)?.[1];
    assert.ok(bucket, cookie);
    const page = await res.body.text();
    assert.match(page, /Served from BOM to Mumbai, IN/);
    assert.match(page, new RegExp(`class="hero-${bucket}"`));
    const again = await get('/', { cookie: `outpost_ab_hero=${bucket}` });
    assert.equal(again.headers['set-cookie'], undefined);
    assert.match(await again.body.text(), new RegExp(`class="hero-${bucket}"`));
  });

  it("103 Early Hints: the home page's preloads come back before the page on the next visit", async () => {
    await (await get('/')).body.text();
    const hints: string[] = [];
    const res = await request(`${dev.url}/`, {
      dispatcher: agent,
      onInfo: (info) => {
        if (info.statusCode === 103) hints.push(String(info.headers.link));
      },
    });
    await res.body.text();
    assert.equal(hints.length, 1);
    assert.match(hints[0], /<\/assets\/app\.[0-9a-f]{8}\.css>; rel=preload; as=style/);
  });

  it('static assets and the public API come from the edge cache under the site policies', async () => {
    const manifest = (await (await get('/assets/manifest.json')).body.json()) as { css: string };
    const first = await get(manifest.css, { 'outpost-pop': 'SIN' });
    await first.body.text();
    const second = await get(manifest.css, { 'outpost-pop': 'SIN' });
    assert.equal(second.headers['cf-cache-status'], 'HIT');
    assert.equal(second.headers['cache-control'], 'public, max-age=31536000, stale-if-error=86400');
    await second.body.text();
    const before = originHits('/api/products');
    for (let i = 0; i < 3; i++) await (await get('/api/products', { 'outpost-pop': 'SIN' })).body.text();
    assert.equal(originHits('/api/products') - before, 1);
  });

  it('ESI: the page is assembled at the edge; fragments are cached by their own TTLs, feed never', async () => {
    const one = await (await get('/esi/home', { cookie: 'theme=dark' })).body.text();
    assert.match(one, /<section class="header">header/);
    assert.match(one, /<p>dark theme<\/p><p>From DE<\/p>/);
    assert.doesNotMatch(one, /esi:/);
    const header = originHits('/fragments/header');
    const feed = originHits('/fragments/feed');
    await (await get('/esi/home')).body.text();
    assert.equal(originHits('/fragments/header'), header);
    assert.equal(originHits('/fragments/feed'), feed + 1);
  });

  it('the personal API: JWT checked at the edge, flags read through KV, preferences written through the origin', async () => {
    const none = await get('/api/me/flags');
    assert.equal(none.statusCode, 401);
    await none.body.text();
    const { token } = (await (await request(`${origin.url}/auth/token?user=alice`)).body.json()) as {
      token: string;
    };
    const auth = { authorization: `Bearer ${token}` };
    const flags = (await (await get('/api/me/flags', auth)).body.json()) as { source: string };
    assert.equal(flags.source, 'origin');
    const again = (await (await get('/api/me/flags', auth)).body.json()) as { source: string };
    assert.equal(again.source, 'kv');
    const patch = await request(`${dev.url}/api/me/prefs`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ theme: 'dark' }),
      dispatcher: agent,
    });
    assert.deepEqual(await patch.body.json(), { locale: 'en', theme: 'dark' });
    // A forged identity header is replaced by the token's.
    const forged = await get('/api/me/prefs', { ...auth, 'x-user-id': 'mallory' });
    assert.deepEqual(await forged.body.json(), { locale: 'en', theme: 'dark' });
  });

  it('the WAF stops an injection before the origin; the rate limit binding caps preference writes', async () => {
    const attack = await get(`/pages/x?q=${encodeURIComponent("1' OR '1'='1' --")}`);
    assert.equal(attack.statusCode, 403);
    await attack.body.text();
    const { token } = (await (await request(`${origin.url}/auth/token?user=bob`)).body.json()) as {
      token: string;
    };
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const r = await request(`${dev.url}/api/me/prefs`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ locale: 'de' }),
        dispatcher: agent,
      });
      statuses.push(r.statusCode);
      await r.body.text();
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
    assert.equal(statuses[10], 429);
  });

  it('collaborative editing: a DocumentRoom reached from Frankfurt and Singapore, edits broadcast', async () => {
    const join_ = (pop: string, user: string) =>
      new Promise<{ ws: WebSocket; got: Record<string, unknown>[] }>((resolve, reject) => {
        const ws = new WebSocket(`${dev.url.replace('http', 'ws')}/doc/plan?user=${user}`, {
          headers: { 'outpost-pop': pop },
        });
        const got: Record<string, unknown>[] = [];
        ws.on('message', (d) => got.push(JSON.parse(String(d))));
        ws.once('open', () => resolve({ ws, got }));
        ws.once('error', reject);
      });
    const a = await join_('FRA', 'ana');
    const b = await join_('SIN', 'bo');
    const until = async (got: Record<string, unknown>[], pred: (m: Record<string, unknown>) => boolean) => {
      for (let i = 0; i < 200 && !got.some(pred); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(got.some(pred), JSON.stringify(got));
    };
    a.ws.send(JSON.stringify({ type: 'edit', op: { pos: 0, insert: 'hello' } }));
    await until(b.got, (m) => m.type === 'edit' && m.by === 'ana');
    a.ws.close();
    b.ws.close();
  });
});
