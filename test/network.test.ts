// `outpost dev --topology world`: PoPs in real cities behind one front. Routing by the client's
// location, request.cf and Outpost-Pop from the PoP, KV consistency between Frankfurt and
// Singapore, and simulated latency in the model's proportions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { builtinTopology, rttMs } from '../src/network/index.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

let dev: TestDev;
let project: ReturnType<typeof copyFixture>;

before(async () => {
  project = copyFixture('kv');
  // A short propagation delay and a 1 s default KV cacheTtl keep the test quick.
  dev = await startFixture(project.dir, {
    topology: 'world',
    from: 'San Francisco',
    kv: { propagationMs: 1500, cacheTtl: 1 },
  });
});
after(async () => {
  await dev.close();
  project.cleanup();
});

async function at(
  where: { location?: string; pop?: string },
  path: string,
): Promise<{ pop: string | null; timing: string | null; body: { result?: unknown; error?: string } }> {
  const headers: Record<string, string> = {};
  if (where.location) headers['outpost-client-location'] = where.location;
  if (where.pop) headers['outpost-pop'] = where.pop;
  const r = await fetch(`${dev.url}${path}`, { headers });
  return {
    pop: r.headers.get('outpost-pop'),
    timing: r.headers.get('server-timing'),
    body: (await r.json()) as { result?: unknown },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a network of PoPs (world topology)', () => {
  it('routes each client to its nearest PoP and fills request.cf from the PoP and the client', async () => {
    const cases: [string, string, string][] = [
      ['Mumbai', 'BOM', 'IN'],
      ['Frankfurt', 'FRA', 'DE'],
      ['-33.92,18.42', 'JNB', ''],
      ['Sydney', 'SYD', 'AU'],
      ['São Paulo', 'GRU', 'BR'],
      ['Toronto', 'YYZ', 'CA'],
    ];
    for (const [location, pop, country] of cases) {
      const r = await at({ location }, '/cf');
      const cf = r.body.result as Record<string, unknown>;
      assert.equal(r.pop, pop, location);
      assert.equal(cf.colo, pop);
      if (country) assert.equal(cf.country, country);
      assert.match(
        r.timing ?? '',
        /^edge;dur=\d+(\.\d)?;desc="client to [A-Z]{3}, simulated", worker;dur=[\d.]+;desc="kv"$/,
      );
    }
    const def = await at({}, '/cf');
    assert.equal(def.pop, 'SFO', 'the --from default');
  });
  it('every PoP is reachable directly; unknown PoPs and locations are refused', async () => {
    const r = await at({ location: 'Mumbai', pop: 'AKL' }, '/cf');
    assert.equal(r.pop, 'AKL');
    const tcp = (r.body.result as { clientTcpRtt: number }).clientTcpRtt;
    assert.ok(tcp > 100, `Mumbai to Auckland is far: ${tcp} ms`);
    const nope = await fetch(`${dev.url}/cf`, { headers: { 'outpost-pop': 'XXX' } });
    assert.deepEqual([nope.status, await nope.text()], [404, 'No PoP "XXX" in topology world\n']);
    const bad = await fetch(`${dev.url}/cf`, { headers: { 'outpost-client-location': 'Atlantis' } });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /Outpost-Client-Location: "Atlantis" is not a known city/);
  });
  it('KV: write in Frankfurt, read in Singapore before and after the propagation delay; read-your-writes in Frankfurt', async () => {
    await at({ location: 'Frankfurt' }, '/put?key=geo&value=v1');
    assert.deepEqual((await at({ location: 'Frankfurt' }, '/get?key=geo')).body, { result: 'v1' });
    const sin = await at({ location: 'Singapore' }, '/get?key=geo');
    assert.deepEqual([sin.pop, sin.body], ['SIN', { result: null }]);
    // Server-Timing says where each read was answered; the central trip is the model's, marked.
    const trip = rttMs(
      builtinTopology('world')!.pops.find((p) => p.id === 'SIN')!,
      builtinTopology('world')!.origins[0],
    );
    const kv = /kv;dur=([\d.]+);desc="GET STORE (central store, simulated|PoP cache(?:, in isolate)?)"$/;
    const first = kv.exec(sin.timing ?? '');
    assert.ok(first, sin.timing ?? '');
    assert.equal(first[2], 'central store, simulated');
    assert.ok(Number(first[1]) >= trip, `${first[1]} ms reported, central trip ${trip.toFixed(1)} ms`);
    assert.equal(
      kv.exec((await at({ location: 'Singapore' }, '/get?key=geo')).timing ?? '')?.[2],
      // The worker's isolate kept the PoP's answer (src/runtime/isolate/kv-cache.ts).
      'PoP cache, in isolate',
    );
    await sleep(1600);
    assert.deepEqual((await at({ location: 'Singapore' }, '/get?key=geo')).body, { result: 'v1' });
  });
  it('KV: an overwrite after a cached read stays stale where it was cached, past the propagation delay', async () => {
    await at({ location: 'Frankfurt' }, '/put?key=doc&value=old');
    await sleep(1600);
    const opts = encodeURIComponent(JSON.stringify({ cacheTtl: 60 }));
    assert.deepEqual((await at({ location: 'Tokyo' }, `/get?key=doc&opts=${opts}`)).body, { result: 'old' });
    await at({ location: 'Frankfurt' }, '/put?key=doc&value=new');
    await sleep(1600);
    assert.deepEqual(
      (await at({ location: 'Tokyo' }, '/get?key=doc')).body,
      { result: 'old' },
      'Tokyo cached it for 60 s',
    );
    assert.deepEqual(
      (await at({ location: 'Sydney' }, '/get?key=doc')).body,
      { result: 'new' },
      'Sydney had no copy',
    );
    // The admin view shows it: every PoP that served sees the new version; Tokyo's cache holds the old.
    const view = (await (
      await fetch(`${dev.url}/__outpost/kv/keys?binding=STORE&prefix=doc`, {
        headers: { authorization: `Bearer ${dev.adminToken}` },
      })
    ).json()) as {
      keys: {
        latest: { version: number };
        seen: Record<string, number>;
        cached: Record<string, number | null>;
      }[];
    };
    const [k] = view.keys;
    assert.equal(k.seen.NRT, k.latest.version);
    assert.ok((k.cached.NRT ?? 0) < k.latest.version);
  });
});

describe('simulated latency', () => {
  let slow: TestDev;
  let p2: ReturnType<typeof copyFixture>;
  before(async () => {
    p2 = copyFixture('kv');
    slow = await startFixture(p2.dir, { topology: 'world', from: 'Mumbai', simulateLatency: true });
  });
  after(async () => {
    await slow.close();
    p2.cleanup();
  });
  it('a Mumbai client answered in Virginia waits the modelled round trip; answered in Mumbai it does not', async () => {
    const world = builtinTopology('world')!;
    const bom = world.pops.find((p) => p.id === 'BOM')!;
    const iad = world.pops.find((p) => p.id === 'IAD')!;
    const time = async (headers: Record<string, string>) => {
      const t = performance.now();
      await (await fetch(`${slow.url}/cf`, { headers })).text();
      return performance.now() - t;
    };
    await time({}); // warm both PoPs
    await time({ 'outpost-pop': 'IAD' });
    const near = Math.min(await time({}), await time({}));
    const far = Math.min(await time({ 'outpost-pop': 'IAD' }), await time({ 'outpost-pop': 'IAD' }));
    const model = rttMs(bom, iad) - rttMs(bom, bom);
    assert.ok(
      far - near > model * 0.9 && far - near < model * 1.5,
      `far ${far.toFixed(0)} ms, near ${near.toFixed(0)} ms, model ${model.toFixed(0)} ms`,
    );
  });
  it('a KV read that misses the PoP cache pays the trip to the central store; the next one does not', async () => {
    const world = builtinTopology('world')!;
    const bom = world.pops.find((p) => p.id === 'BOM')!;
    const trip = rttMs(bom, world.origins[0]);
    const time = async () => {
      const t = performance.now();
      await (await fetch(`${slow.url}/get?key=never-written`)).text();
      return performance.now() - t;
    };
    const first = await time();
    const second = await time();
    // Waited, so not marked simulated.
    const r = await fetch(`${slow.url}/get?key=written-never`);
    assert.match(r.headers.get('server-timing') ?? '', /, kv;dur=[\d.]+;desc="GET STORE central store"$/);
    assert.ok(
      first - second > trip * 0.9,
      `miss ${first.toFixed(0)} ms, hit ${second.toFixed(0)} ms, central trip ${trip.toFixed(0)} ms`,
    );
  });
});

describe('health checks and failover', () => {
  let net: TestDev;
  let p3: ReturnType<typeof copyFixture>;
  before(async () => {
    p3 = copyFixture('kv');
    net = await startFixture(p3.dir, { topology: 'world', healthIntervalMs: 200 });
  });
  after(async () => {
    await net.close();
    p3.cleanup();
  });
  const admin = (path: string, body?: unknown) =>
    fetch(`${net.url}/__outpost/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${net.adminToken}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const popFor = async (location: string) =>
    (await fetch(`${net.url}/cf`, { headers: { 'outpost-client-location': location } })).headers.get(
      'outpost-pop',
    );

  it('a PoP that goes down stops getting traffic within one health interval, and gets it back after recovery', async () => {
    assert.equal(await popFor('Frankfurt'), 'FRA');
    assert.equal((await admin('network/pops/FRA', { down: true })).status, 200);
    await sleep(250);
    assert.equal(await popFor('Frankfurt'), 'AMS', 'the next nearest PoP');
    const status = (await (await admin('network')).json()) as { pops: { id: string; healthy: boolean }[] };
    assert.equal(status.pops.find((p) => p.id === 'FRA')?.healthy, false);
    await admin('network/pops/FRA', { down: false });
    await sleep(250);
    assert.equal(await popFor('Frankfurt'), 'FRA');
  });
  it('names what is wrong', async () => {
    assert.equal((await admin('network/pops/XXX', { down: true })).status, 404);
    assert.equal((await admin('network/pops/FRA', { down: 'yes' })).status, 400);
  });
});

describe('world-large (the scale topology)', () => {
  let big: TestDev;
  let p4: ReturnType<typeof copyFixture>;
  before(async () => {
    p4 = copyFixture('kv');
    big = await startFixture(p4.dir, { topology: 'world-large', runtime: { poolSize: 0 } });
  });
  after(async () => {
    await big.close();
    p4.cleanup();
  });
  it('serves clients in 40 cities from 40 PoPs, each made on its first request', async () => {
    const cities = builtinTopology('world-large')!
      .pops.filter((_, i) => i % 9 === 0)
      .slice(0, 40);
    const served = await Promise.all(
      cities.map(async (p) => {
        const r = await fetch(`${big.url}/cf`, { headers: { 'outpost-client-location': p.id } });
        return [
          p.id,
          r.headers.get('outpost-pop'),
          ((await r.json()) as { result: { colo: string } }).result.colo,
        ];
      }),
    );
    for (const [want, pop, colo] of served) assert.deepEqual([pop, colo], [want, want]);
    assert.equal(big.network?.nodes.length, 40);
  });
});
