// Tiered cache in a network of PoPs: a PoP's miss fills from its regional shield, whose misses
// go through one upper tier at the origin. The seed's stampede: every PoP misses at once, the
// origin sees one request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixture, startUpstream, type TestDev, type Upstream } from './helpers.ts';

let dev: TestDev;
let up: Upstream;

before(async () => {
  up = await startUpstream();
  for (const p of ['/tier.js', '/sync.js'])
    up.routes.set(p, (_req, res) => {
      // Slow enough that simultaneous misses overlap.
      setTimeout(() => {
        res.writeHead(200, { 'cache-control': 'max-age=300', 'content-type': 'text/javascript' });
        res.end(`// ${p} #${up.hits.get(p)}`);
      }, 100);
    });
  dev = await startFixture('fetch-cache', { topology: 'world', from: 'Frankfurt' });
});
after(async () => {
  await dev.close();
  await up.close();
});

async function fetchAt(
  location: string,
  path: string,
): Promise<{ pop: string | null; cache: string; shield: string | null; body: string }> {
  const r = await fetch(`${dev.url}/fetch?u=${encodeURIComponent(up.url + path)}`, {
    headers: { 'outpost-client-location': location },
  });
  const j = (await r.json()) as { cache: string; shield: string | null; body: string };
  return { pop: r.headers.get('outpost-pop'), ...j };
}

describe('tiered cache', () => {
  it('a PoP miss that its shield holds does not reach the origin', async () => {
    const fra = await fetchAt('Frankfurt', '/tier.js');
    assert.deepEqual([fra.pop, fra.cache, fra.shield], ['FRA', 'MISS', 'eu-west MISS']);
    const lhr = await fetchAt('London', '/tier.js');
    assert.deepEqual([lhr.pop, lhr.cache, lhr.shield, lhr.body], ['LHR', 'MISS', 'eu-west HIT', fra.body]);
    assert.equal(up.hits.get('/tier.js'), 1);
  });
  it('every PoP of the world missing at once makes one origin request (the seed’s stampede)', async () => {
    const cities = [
      'Frankfurt',
      'London',
      'Paris',
      'Mumbai',
      'Singapore',
      'Tokyo',
      'Sydney',
      'Toronto',
      'São Paulo',
      'Johannesburg',
      'San Francisco',
    ];
    const all = await Promise.all(cities.map((c) => fetchAt(c, '/sync.js')));
    assert.equal(new Set(all.map((a) => a.pop)).size, cities.length);
    assert.equal(up.hits.get('/sync.js'), 1);
    assert.ok(all.every((a) => a.body === all[0].body));
  });
});
