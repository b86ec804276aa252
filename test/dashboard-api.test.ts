// The admin endpoints the dashboard added, over HTTP. The traces behind its waterfalls
// (GET /__outpost/traces): with no --trace-endpoint, requests are traced only while a tail asks
// for it (the Requests view's `traces=1`), and one is found by its ray id with the hops it took —
// the client's trip to its PoP, the worker, its KV read; bad or unknown references are named.
// The map's figures (GET /__outpost/network/stats) and its land outline; the caches' figures
// (GET /__outpost/cache/stats); the workers' (GET /__outpost/workers).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startFixture, startUpstream, type TestDev, waitFor } from './helpers.ts';

describe('the dashboard’s admin endpoints', () => {
  let dev: TestDev;
  let project: ReturnType<typeof copyFixture>;
  let auth: Record<string, string>;
  before(async () => {
    project = copyFixture('kv');
    dev = await startFixture(project.dir, { topology: 'world' });
    auth = { authorization: `Bearer ${dev.adminToken}` };
  });
  after(async () => {
    await dev?.close();
    project?.cleanup();
  });

  const traces = async (q = '') => {
    const r = await fetch(`${dev.url}/__outpost/traces${q}`, { headers: auth });
    return { status: r.status, body: (await r.json()) as any };
  };
  const get = async () => {
    const r = await fetch(`${dev.url}/get?key=t`, { headers: { 'outpost-pop': 'CDG' } });
    await r.text();
    assert.equal(r.status, 200);
    return r.headers.get('cf-ray') as string;
  };

  it('nothing is traced while nobody watches', async () => {
    const ray = await get();
    const r = await traces(`?ray=${ray}`);
    assert.equal(r.status, 404);
    assert.match(r.body.errors[0].message, /no trace kept for ray .*Requests view is open/);
    assert.deepEqual((await traces()).body.traces, []);
  });

  it('while a tail asks for traces, a request is found by its ray with its hops', async () => {
    const ac = new AbortController();
    const tail = await fetch(`${dev.url}/__outpost/tail?traces=1&max_rate=50`, {
      headers: auth,
      signal: ac.signal,
    });
    assert.equal(tail.status, 200);
    try {
      const ray = await get();
      let found: any;
      for (let i = 0; i < 50 && !found; i++) {
        const r = await traces(`?ray=${ray}`);
        if (r.status === 200) found = r.body.trace;
        else await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(found, 'the trace is kept');
      assert.equal(found.ray, ray);
      assert.equal(found.pop, 'CDG');
      assert.equal(found.status, 200);
      const byName = new Map(found.spans.map((s: any) => [s.name, s]));
      const root = byName.get('GET') as any;
      const worker = byName.get('outpost.worker') as any;
      const kv = byName.get('kv_get') as any;
      assert.equal(root.parent, null);
      assert.equal((byName.get('outpost.route') as any).attrs['outpost.hop'], 'client to CDG');
      assert.equal(worker.parent, root.id);
      assert.equal(kv.parent, worker.id);
      assert.ok(worker.start >= root.start && worker.end <= root.end);
      // The same trace by its id; the list shows it.
      assert.equal((await traces(`?trace=${found.traceId}`)).body.trace.ray, ray);
      assert.ok((await traces()).body.traces.some((t: any) => t.ray === ray));
    } finally {
      ac.abort();
    }
    // The tail closed: tracing stops.
    await new Promise((res) => setTimeout(res, 100));
    const ray = await get();
    assert.equal((await traces(`?ray=${ray}`)).status, 404);
  });

  it('network/stats: each PoP’s traffic over the last seconds, once someone reads it; the places of PoPs and shields', async () => {
    const stats = async () => {
      const r = await fetch(`${dev.url}/__outpost/network/stats`, { headers: auth });
      assert.equal(r.status, 200);
      return (await r.json()) as any;
    };
    const first = await stats();
    assert.equal(first.windowSeconds, 10);
    for (let i = 0; i < 10; i++) await get();
    // Counted once its second is over.
    let cdg: any;
    for (let i = 0; i < 40 && !(cdg?.requests >= 10); i++) {
      await new Promise((res) => setTimeout(res, 100));
      cdg = (await stats()).pops.CDG;
    }
    assert.equal(cdg.requests, 10);
    assert.equal(cdg.errors, 0);
    assert.ok(cdg.p50 > 0 && cdg.p99 >= cdg.p50, JSON.stringify(cdg));
    assert.ok(cdg.isolates >= 1, 'CDG has served: it has an isolate');
    const net = (await (await fetch(`${dev.url}/__outpost/network`, { headers: auth })).json()) as any;
    const lhr = net.pops.find((p: any) => p.id === 'LHR');
    assert.ok(Math.abs(lhr.latitude - 51.5) < 1 && Math.abs(lhr.longitude) < 1, JSON.stringify(lhr));
    assert.ok(net.shields.some((s: any) => s.id === 'eu-west' && typeof s.latitude === 'number'));
    const land = await fetch(`${dev.url}/__outpost/ui/land.json`, { headers: auth });
    assert.equal(land.status, 200);
    assert.equal(((await land.json()) as any).type, 'Topology');
    assert.equal((await fetch(`${dev.url}/__outpost/ui/land.json`)).status, 401);
  });

  it('cache/stats: each cache with its entries, lookups and hit ratio, the URLs asked most, its tags', async () => {
    const project2 = copyFixture('fetch-cache');
    const d = await startFixture(project2.dir, { topology: 'world', egressAllow: ['127.0.0.1'] });
    const up = await startUpstream();
    const traceparents: (string | undefined)[] = [];
    up.routes.set('/tagged', (req, res) => {
      traceparents.push(req.headers.traceparent as string | undefined);
      res.writeHead(200, { 'cache-control': 'max-age=300', 'cache-tag': 'product,sale' });
      res.end('tagged');
    });
    // The dashboard's Requests view is open: requests are traced, locally.
    const ac = new AbortController();
    const tail = await fetch(`${d.url}/__outpost/tail?traces=1`, {
      headers: { authorization: `Bearer ${d.adminToken}` },
      signal: ac.signal,
    });
    assert.equal(tail.status, 200);
    try {
      const a = { authorization: `Bearer ${d.adminToken}` };
      const stats = async (q = '') => {
        const r = await fetch(`${d.url}/__outpost/cache/stats${q}`, { headers: a });
        return { status: r.status, body: (await r.json()) as any };
      };
      await stats(); // the URLs asked most are counted from the first read
      const q = new URLSearchParams({ u: `${up.url}/tagged`, cf: JSON.stringify({ cacheEverything: true }) });
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${d.url}/fetch?${q}`, { headers: { 'outpost-pop': 'LHR' } });
        assert.equal(r.status, 200, await r.text());
      }
      const { body } = await stats();
      const lhr = body.caches.find((c: any) => c.tier === 'pop' && c.id === 'LHR');
      assert.equal(lhr.entries, 1);
      assert.ok(lhr.bytes > 0);
      assert.deepEqual(lhr.lookups, { MISS: 1, HIT: 2 });
      assert.equal(lhr.hitRatio, 2 / 3);
      assert.deepEqual(lhr.topKeys, [[`${up.url}/tagged`, 3]]);
      // Each tag once, with the worker whose response carried it.
      assert.deepEqual(lhr.tags, [
        ['fetch-cache · product', 1],
        ['fetch-cache · sale', 1],
      ]);
      // The miss went on to LHR's shield: it holds the entry too.
      const shield = body.caches.find((c: any) => c.tier === 'shield' && c.id === 'eu-west');
      assert.equal(
        shield?.entries,
        1,
        JSON.stringify(body.caches.map((c: any) => [c.tier, c.id, c.entries])),
      );
      assert.ok(body.caches.some((c: any) => c.tier === 'api' && c.id === 'LHR'));
      assert.equal((await stats('?limit=0')).status, 400);
      // The origin heard of no trace: a local trace is not sent on.
      assert.deepEqual(traceparents, [undefined]);
    } finally {
      ac.abort();
      await up.close();
      await d.close();
      project2.cleanup();
    }
  });

  it('workers: each deployed worker with its version and its figures since start', async () => {
    for (let i = 0; i < 3; i++) await get();
    const r = await fetch(`${dev.url}/__outpost/workers`, { headers: auth });
    assert.equal(r.status, 200);
    const [w] = ((await r.json()) as any).workers;
    assert.equal(w.name, 'kv');
    assert.match(w.version, /^kv@[0-9a-f]{12}$/);
    assert.equal(w.compatibilityDate, '2025-06-01');
    assert.ok(w.requests >= 3 && w.byClass['2xx'] >= 3, JSON.stringify(w));
    assert.ok(w.invocations >= 3);
    assert.ok(w.cpuMsPerInvocation > 0 && w.cpuMsPerInvocation < 1000, `${w.cpuMsPerInvocation} ms`);
    assert.ok(w.coldStarts >= 1);
    assert.deepEqual(w.limitKills, {});
    assert.ok(w.pops.includes('CDG'));
    assert.equal(w.worker, undefined);
  });

  it('requests: every request as it ends, filtered by cache status, at most max_rate a second', async () => {
    const ac = new AbortController();
    const r = await fetch(`${dev.url}/__outpost/requests?cache=none&max_rate=2`, {
      headers: auth,
      signal: ac.signal,
    });
    assert.equal(r.status, 200);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const got: any[] = [];
    let text = '';
    const read = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
        for (const m of text.matchAll(/^data: (.*)$/gm)) got.push(JSON.parse(m[1]));
        text = text.slice(text.lastIndexOf('\n') + 1);
      }
    })().catch(() => {});
    try {
      await new Promise((res) => setTimeout(res, 50));
      for (let i = 0; i < 5; i++) await get();
      await waitFor(() => (got.length >= 2 ? true : undefined), 5000, 'two records');
      await new Promise((res) => setTimeout(res, 100));
      // Two a second: five requests within a second or across two, never all five.
      assert.ok(got.length >= 2 && got.length <= 4, `${got.length} records of 5 requests at 2 a second`);
      assert.equal(got[0].worker, 'kv');
      assert.equal(got[0].pop, 'CDG');
      assert.equal(got[0].path, '/get');
      assert.equal(got[0].cache, 'none');
      assert.equal(got[0].status, 200);
      assert.match(got[0].ray, /-CDG$/);
    } finally {
      ac.abort();
      await read;
    }
    const bad = await fetch(`${dev.url}/__outpost/requests?cache=SOMETIMES`, { headers: auth });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as any).errors[0].message, /cache must be one of HIT, MISS/);
  });

  it('bad input the views can send is named: an unknown PoP, an unknown KV binding', async () => {
    const pop = await fetch(`${dev.url}/__outpost/network/pops/XXX`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ down: true }),
    });
    assert.equal(pop.status, 404);
    assert.match(((await pop.json()) as any).errors[0].message, /No PoP "XXX" in topology world/);
    const kv = await fetch(`${dev.url}/__outpost/kv/keys?binding=NOPE`, { headers: auth });
    assert.equal(kv.status, 400);
    assert.match(((await kv.json()) as any).errors[0].message, /received NOPE/);
  });

  it('a bad trace id or ray is named; the token is required', async () => {
    const bad = await traces('?trace=nothex');
    assert.equal(bad.status, 400);
    assert.match(
      bad.body.errors[0].message,
      /trace must be a trace id \(32 lowercase hex digits\), received "nothex"/,
    );
    const badRay = await traces('?ray=%3Cscript%3E');
    assert.equal(badRay.status, 400);
    assert.match(badRay.body.errors[0].message, /ray must be a ray id/);
    const none = await fetch(`${dev.url}/__outpost/traces`);
    assert.equal(none.status, 401);
  });
});
