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
  // The origin runs on 127.0.0.1: a network refuses loopback egress unless the operator allows it.
  dev = await startFixture('fetch-cache', {
    topology: 'world',
    from: 'Frankfurt',
    egressAllow: ['loopback'],
  });
});
after(async () => {
  await dev.close();
  await up.close();
});

interface Sub {
  pop: string | null;
  cache: string;
  shield: string | null;
  timing: string | null;
  body: string;
}

async function fetchAt(location: string, path: string, base = dev.url): Promise<Sub> {
  const r = await fetch(`${base}/fetch?u=${encodeURIComponent(up.url + path)}`, {
    headers: { 'outpost-client-location': location },
  });
  const j = (await r.json()) as Omit<Sub, 'pop' | 'shield' | 'timing'>;
  // The hops the worker's subrequest took are on the client's response.
  return {
    pop: r.headers.get('outpost-pop'),
    shield: r.headers.get('outpost-shield'),
    timing: r.headers.get('server-timing'),
    ...j,
  };
}

describe('tiered cache', () => {
  it('a PoP miss that its shield holds does not reach the origin', async () => {
    const fra = await fetchAt('Frankfurt', '/tier.js');
    assert.deepEqual([fra.pop, fra.cache, fra.shield], ['FRA', 'MISS', 'eu-west MISS']);
    const lhr = await fetchAt('London', '/tier.js');
    assert.deepEqual([lhr.pop, lhr.cache, lhr.shield, lhr.body], ['LHR', 'MISS', 'eu-west HIT', fra.body]);
    assert.equal(up.hits.get('/tier.js'), 1);
    // The client's Server-Timing says which hops the worker's subrequest took, in path order.
    assert.match(
      fra.timing ?? '',
      /^edge;dur=[\d.]+;desc="client to FRA, simulated", worker;dur=[\d.]+;desc="fetch-cache", cache;dur=[\d.]+;desc="MISS \/tier.js", shield;dur=[\d.]+;desc="FRA to eu-west MISS, simulated", origin;dur=[\d.]+;desc="eu-west to origin, simulated"$/,
    );
    assert.match(
      lhr.timing ?? '',
      /, cache;dur=[\d.]+;desc="MISS \/tier.js", shield;dur=[\d.]+;desc="LHR to eu-west HIT, simulated"$/,
    );
    // A hit at the PoP took no hop beyond it: no shield, no origin, no Outpost-Shield.
    const again = await fetchAt('London', '/tier.js');
    assert.equal(again.cache, 'HIT');
    assert.equal(again.shield, null);
    assert.match(again.timing ?? '', /, cache;dur=[\d.]+;desc="HIT \/tier.js"$/);
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

describe('tiered cache with simulated latency', () => {
  let slow: TestDev;
  before(async () => {
    up.routes.set('/far.js', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=300', 'content-type': 'text/javascript' });
      res.end('// far');
    });
    slow = await startFixture('fetch-cache', {
      topology: 'world',
      from: 'Mumbai',
      simulateLatency: true,
      egressAllow: ['loopback'],
    });
  });
  after(() => slow.close());
  it('a Mumbai client whose request goes to the origin waits PoP→shield→origin; a PoP hit does not', async () => {
    const { builtinTopology, rttMs } = await import('../src/network/index.ts');
    const world = builtinTopology('world')!;
    const bom = world.pops.find((p) => p.id === 'BOM')!;
    const apac = world.shields.find((p) => p.id === 'apac')!;
    const model = rttMs(bom, apac) + rttMs(apac, world.origins[0]);
    const time = async () => {
      const t = performance.now();
      const r = await fetchAt('Mumbai', '/far.js', slow.url);
      return { ms: performance.now() - t, r };
    };
    const miss = await time();
    const hit = await time();
    assert.deepEqual([miss.r.pop, miss.r.cache, hit.r.cache], ['BOM', 'MISS', 'HIT']);
    assert.match(
      miss.r.timing ?? '',
      /, shield;dur=[\d.]+;desc="BOM to apac MISS", origin;dur=[\d.]+;desc="apac to origin"$/,
    );
    const extra = miss.ms - hit.ms;
    assert.ok(
      extra > model * 0.9 && extra < model * 1.5,
      `miss ${miss.ms.toFixed(0)} ms, hit ${hit.ms.toFixed(0)} ms, model ${model.toFixed(0)} ms`,
    );
  });
});
