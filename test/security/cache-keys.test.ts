// Attacks on the fetch() cache's keys: two tenants deployed from projects with the same `name`
// shared one namespace of cached subrequests (it was keyed by the config name, not the tenant).
// A response the victim fetched with its bearer token was served to the attacker, the attacker
// could store its own body under the victim's URL, and the victim's own purge missed its entries
// (purges were keyed by the tenant). Each tenant now has its own namespace; the victim is unaffected.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, startUpstream, type TestNetwork, type Upstream } from '../helpers.ts';

const TOKEN = 'Bearer victim-secret-token';
let net: TestNetwork;
let up: Upstream;

before(async () => {
  up = await startUpstream();
  up.routes.set('/account.js', (req, res) => {
    if (req.headers.authorization !== TOKEN) {
      res.writeHead(401, { 'cache-control': 'no-store' });
      return void res.end('no token');
    }
    // `public` lets a shared cache keep an answer to a request with Authorization (RFC 9111 §3.5).
    res.writeHead(200, { 'cache-control': 'public, max-age=300' });
    res.end('victim account data');
  });
  for (const p of ['/app.js', '/static.js'])
    up.routes.set(p, (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=300', 'cache-tag': 'shared-tag' });
      res.end(`${p} #${up.hits.get(p)}`);
    });
  up.routes.set('/evil.js', (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=300' });
    res.end('poisoned');
  });
  // One project deployed as two tenants: the same config name, "fetch-cache".
  net = await startTenants({ attacker: 'fetch-cache', victim: 'fetch-cache' });
});
after(async () => {
  await net.close();
  await up.close();
});

interface Answer {
  status: number;
  cache: string | null;
  body: string;
}

async function sub(tenant: string, path: string, cf?: unknown, headers?: Record<string, string>) {
  const q = new URLSearchParams({ u: `${up.url}${path}` });
  if (cf !== undefined) q.set('cf', JSON.stringify(cf));
  if (headers) q.set('h', JSON.stringify(headers));
  return (await (await net.fetchAs(tenant, `/fetch?${q}`)).json()) as Answer;
}

async function purge(tenant: string, options: unknown) {
  const r = await net.fetchAs(tenant, '/purge', { method: 'POST', body: JSON.stringify(options) });
  return r.json();
}

describe('the fetch() cache of two tenants with the same name', () => {
  it('the tenants really share a config name (the premise of the attack)', () => {
    assert.equal(net.runtime.current('attacker')?.name, 'fetch-cache');
    assert.equal(net.runtime.current('victim')?.name, 'fetch-cache');
  });

  it("a response fetched with the victim's bearer token is not served to the attacker", async () => {
    const victim = [
      await sub('victim', '/account.js', undefined, { authorization: TOKEN }),
      await sub('victim', '/account.js', undefined, { authorization: TOKEN }),
    ];
    assert.deepEqual(
      victim.map((a) => [a.status, a.cache, a.body]),
      [
        [200, 'MISS', 'victim account data'],
        [200, 'HIT', 'victim account data'],
      ],
    );
    const stolen = await sub('attacker', '/account.js');
    assert.equal(stolen.status, 401);
    assert.equal(stolen.body, 'no token');
    assert.notEqual(stolen.cache, 'HIT');
    // The victim still has its own cached answer.
    const again = await sub('victim', '/account.js', undefined, { authorization: TOKEN });
    assert.deepEqual([again.cache, again.body], ['HIT', 'victim account data']);
  });

  it("the attacker cannot store its own body under the victim's URL (cf.cacheKey)", async () => {
    const planted = await sub('attacker', '/evil.js', { cacheKey: `${up.url}/app.js`, cacheTtl: 300 });
    assert.equal(planted.body, 'poisoned');
    // The attacker's entry lives in the attacker's namespace only.
    assert.equal((await sub('attacker', '/evil.js', { cacheKey: `${up.url}/app.js` })).cache, 'HIT');
    const victim = await sub('victim', '/app.js');
    assert.equal(victim.cache, 'MISS');
    assert.match(victim.body, /^\/app\.js #\d+$/);
    assert.equal((await sub('victim', '/app.js')).body, victim.body);
  });

  it("the attacker's purges do not reach the victim's entries; the victim's own purges do", async () => {
    await sub('victim', '/static.js');
    assert.equal((await sub('victim', '/static.js')).cache, 'HIT');
    assert.deepEqual(await purge('attacker', { purgeEverything: true }), { success: true, errors: [] });
    assert.deepEqual(await purge('attacker', { tags: ['shared-tag'] }), { success: true, errors: [] });
    assert.equal((await sub('victim', '/static.js')).cache, 'HIT');
    // Before the fix the victim's purge (keyed by the tenant) missed its fetch() entries
    // (keyed by the name): a purged secret stayed served.
    assert.deepEqual(await purge('victim', { tags: ['shared-tag'] }), { success: true, errors: [] });
    assert.equal((await sub('victim', '/static.js')).cache, 'MISS');
    await sub('victim', '/static.js');
    assert.deepEqual(await purge('victim', { purgeEverything: true }), { success: true, errors: [] });
    assert.equal((await sub('victim', '/static.js')).cache, 'MISS');
    assert.equal(
      (await sub('victim', '/account.js', undefined, { authorization: TOKEN })).cache,
      'MISS',
      'purgeEverything reached every entry of the victim',
    );
  });

  it('the Cache API is per tenant too', async () => {
    assert.equal(await (await net.fetchAs('attacker', '/api-cache?op=put')).text(), 'stored');
    assert.equal(await (await net.fetchAs('victim', '/api-cache')).text(), 'none');
  });
});
