// The traces behind the dashboard's waterfalls (GET /__outpost/traces): with no --trace-endpoint,
// requests are traced only while a tail asks for it (the Requests view's `traces=1`), and one
// is found by its ray id with the hops it took — the client's trip to its PoP, the worker, its
// KV read. Bad or unknown references are named.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

describe('traces for the dashboard', () => {
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
