// KV bindings through a worker (test/fixtures/kv): every call, value types, metadata, list
// pages, expiration, Cloudflare's errors, persistence across restarts of `outpost dev`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

let dev: TestDev;
let project: ReturnType<typeof copyFixture>;

before(async () => {
  project = copyFixture('kv');
  dev = await startFixture(project.dir);
});
after(async () => {
  await dev.close();
  project.cleanup();
});

async function call(
  op: string,
  params: Record<string, unknown> = {},
  body?: string,
): Promise<{ result?: unknown; error?: string }> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    q.set(k, typeof v === 'string' && k !== 'opts' ? v : JSON.stringify(v));
  const r = await fetch(`${dev.url}/${op}?${q}`, body === undefined ? {} : { method: 'POST', body });
  return (await r.json()) as { result?: unknown; error?: string };
}

describe('KV binding', () => {
  it('put and get text, JSON, bytes and streams; a missing key is null', async () => {
    await call('put', { key: 'greeting', value: 'hello' });
    assert.deepEqual(await call('get', { key: 'greeting' }), { result: 'hello' });
    await call('put', { key: 'json' }, JSON.stringify({ a: [1, 2] }));
    assert.deepEqual(await call('get', { key: 'json', opts: 'json' }), { result: { a: [1, 2] } });
    assert.deepEqual(await call('get', { key: 'json', opts: { type: 'json', cacheTtl: 60 } }), {
      result: { a: [1, 2] },
    });
    await call('put-bytes', { key: 'bytes' });
    assert.deepEqual(await call('get-bytes', { key: 'bytes' }), { result: [0, 1, 2, 255] });
    await call('put-stream', { key: 'stream' });
    assert.deepEqual(await call('get-stream', { key: 'stream' }), { result: 'streamed value' });
    assert.deepEqual(await call('get', { key: 'nope' }), { result: null });
  });
  it('bulk get returns a Map of up to 100 keys', async () => {
    await call('put', { key: 'b1', value: '1' });
    await call('put', { key: 'b2', value: '2' });
    assert.deepEqual(await call('get-bulk', { keys: ['b1', 'b2', 'b3'] }), {
      result: { b1: '1', b2: '2', b3: null },
    });
    assert.deepEqual(await call('get-bulk', { keys: ['b1'], opts: 'arrayBuffer' }), {
      error: 'TypeError: KV bulk get supports the "text" and "json" types, not "arrayBuffer"',
    });
  });
  it('metadata and expiration come back from getWithMetadata and list', async () => {
    const expiration = Math.floor(Date.now() / 1000) + 3600;
    await call('put', { key: 'm/1', value: 'v', opts: { metadata: { owner: 'ada' }, expiration } });
    assert.deepEqual(await call('meta', { key: 'm/1' }), {
      result: { value: 'v', metadata: { owner: 'ada' }, cacheStatus: null },
    });
    assert.deepEqual(await call('meta', { key: 'm/none' }), {
      result: { value: null, metadata: null, cacheStatus: null },
    });
    const listed = (await call('list', { opts: { prefix: 'm/' } })).result as { keys: unknown[] };
    assert.deepEqual(listed, {
      keys: [{ name: 'm/1', expiration, metadata: { owner: 'ada' } }],
      list_complete: true,
      cacheStatus: null,
    });
  });
  it('lists in pages with a cursor', async () => {
    for (const k of ['p/a', 'p/b', 'p/c']) await call('put', { key: k, value: k });
    const first = (await call('list', { opts: { prefix: 'p/', limit: 2 } })).result as {
      keys: { name: string }[];
      list_complete: boolean;
      cursor: string;
    };
    assert.deepEqual([first.keys.map((k) => k.name), first.list_complete], [['p/a', 'p/b'], false]);
    const second = (await call('list', { opts: { prefix: 'p/', limit: 2, cursor: first.cursor } }))
      .result as { keys: { name: string }[]; list_complete: boolean };
    assert.deepEqual([second.keys.map((k) => k.name), second.list_complete], [['p/c'], true]);
  });
  it('responses name the PoP and time the worker and its KV reads (Outpost-Pop, Server-Timing)', async () => {
    const r = await fetch(`${dev.url}/get?key=greeting`);
    assert.equal(r.headers.get('outpost-pop'), 'DEV');
    assert.match(
      r.headers.get('server-timing') ?? '',
      /^worker;dur=[\d.]+;desc="kv", kv;dur=[\d.]+;desc="GET STORE (PoP cache(, in isolate)?|central store)"$/,
    );
  });
  it('delete removes a key; bindings are separate namespaces', async () => {
    await call('put', { key: 'gone', value: 'x' });
    assert.deepEqual(await call('delete', { key: 'gone' }), { result: 'undefined' });
    assert.deepEqual(await call('get', { key: 'gone' }), { result: null });
    assert.deepEqual(await call('other', { key: 'greeting' }), { result: null });
  });
  it('reports limit breaches as Workers does', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'put',
        { key: 'k'.repeat(513), value: 'v' },
        'Error: KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.',
      ],
      [
        'put',
        { key: '..', value: 'v' },
        'Error: KV PUT failed: 400 Illegal key name "..". Please use a different name.',
      ],
      [
        'put',
        { key: 'k', value: 'v', opts: { expirationTtl: 30 } },
        'Error: KV PUT failed: 400 Invalid expiration_ttl of 30. Expiration TTL must be at least 60.',
      ],
      [
        'put',
        { key: 'k', value: 'v', opts: { metadata: 'x'.repeat(1100) } },
        'Error: KV PUT failed: 413 Metadata length of 1102 exceeds limit of 1024.',
      ],
      [
        'get',
        { key: 'k', opts: { cacheTtl: 5 } },
        'Error: KV GET failed: 400 Invalid cache_ttl of 5. Cache TTL must be at least 30.',
      ],
      [
        'get',
        { key: 'k', opts: 'xml' },
        'TypeError: Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".',
      ],
      [
        'list',
        { opts: { limit: 1001 } },
        'Error: KV LIST failed: 400 Invalid key_count_limit of 1001. Please specify an integer less than 1000.',
      ],
      [
        'put-bad',
        { key: 'k' },
        'TypeError: KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.',
      ],
    ];
    for (const [op, params, error] of cases)
      assert.deepEqual(await call(op, params), { error }, `${op} ${JSON.stringify(params).slice(0, 60)}`);
  });
  it('a value of 25 MiB + 1 byte is refused, 25 MiB is stored', async () => {
    const big = 'x'.repeat(25 * 1024 * 1024);
    assert.deepEqual(await call('put-body', { key: 'big' }, big), { result: 'undefined' });
    assert.deepEqual(await call('put-body', { key: 'big2' }, `${big}x`), {
      error: 'Error: KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.',
    });
  });
  it('the admin KV view shows which version each PoP sees and caches', async () => {
    await call('put', { key: 'seen/1', value: 'v' });
    const r = await fetch(`${dev.url}/__outpost/kv/keys?binding=STORE&prefix=seen/`, {
      headers: { authorization: `Bearer ${dev.adminToken}` },
    });
    const view = (await r.json()) as {
      namespace: string;
      pops: string[];
      keys: {
        key: string;
        latest: { version: number; pop: string };
        seen: Record<string, number>;
        cached: Record<string, number>;
      }[];
    };
    assert.deepEqual(
      [view.namespace, view.pops, view.keys.map((k) => k.key)],
      ['store-ns', ['DEV'], ['seen/1']],
    );
    const [k] = view.keys;
    assert.deepEqual([k.latest.pop, k.seen.DEV, k.cached.DEV], ['DEV', k.latest.version, k.latest.version]);
    const bad = await fetch(`${dev.url}/__outpost/kv/keys?binding=NOPE`, {
      headers: { authorization: `Bearer ${dev.adminToken}` },
    });
    assert.equal(bad.status, 400);
  });
  it('what was written survives a restart of outpost dev (SQLite beside the project)', async () => {
    await call('put', { key: 'durable', value: 'still here' });
    await dev.close();
    dev = await startFixture(project.dir);
    assert.deepEqual(await call('get', { key: 'durable' }), { result: 'still here' });
  });
});

describe('KV reads answered from the isolate’s copy of the PoP cache', () => {
  const timing = async (path: string) => {
    const r = await fetch(`${dev.url}${path}`);
    return { body: (await r.json()) as { result?: unknown }, timing: r.headers.get('server-timing') ?? '' };
  };
  const kvEntries = (t: string) => [...t.matchAll(/kv;dur=[\d.]+;desc="([^"]+)"/g)].map((m) => m[1]);
  it('a hot key is read once from the PoP, then from the copy: each read still in Server-Timing, values fresh copies', async () => {
    await call('put', { key: 'hot', value: '{"n":1}' });
    const first = await timing('/read-twice?key=hot');
    assert.deepEqual(first.body.result, {
      b: '{"n":1}',
      text: '{"n":1}',
      json: { n: 1 },
      stream: '{"n":1}',
      meta: { value: '{"n":1}', metadata: null, cacheStatus: null },
    });
    const entries = kvEntries(first.timing);
    assert.equal(entries.length, 6, first.timing);
    assert.match(entries[0], /^GET STORE (PoP cache|central store)$/);
    for (const e of entries.slice(1)) assert.equal(e, 'GET STORE PoP cache, in isolate');
    const again = await timing('/read-twice?key=hot');
    assert.deepEqual(kvEntries(again.timing), Array(6).fill('GET STORE PoP cache, in isolate'));
  });
  it('JSON that does not parse fails each read, from the PoP or from the copy', async () => {
    await call('put', { key: 'bad-json', value: '{nope' });
    assert.deepEqual((await call('json-twice', { key: 'bad-json' })).result, ['SyntaxError', 'SyntaxError']);
    await call('put', { key: 'good-json', value: '{"a":1}' });
    assert.deepEqual((await call('json-twice', { key: 'good-json' })).result, [{ a: 1 }, { a: 1 }]);
  });
  it('read-your-writes: a put or delete drops the copy at once', async () => {
    assert.deepEqual((await call('put-then-read', { key: 'ryw', value: 'new' })).result, ['new', null]);
    assert.deepEqual((await call('get', { key: 'ryw' })).result, null);
    await call('put', { key: 'ryw', value: 'again' });
    assert.deepEqual((await call('get', { key: 'ryw' })).result, 'again');
  });
  it('a cacheTtl the PoP refuses is refused even when a copy would answer', async () => {
    await call('put', { key: 'ttl', value: 'v' });
    await call('get', { key: 'ttl' });
    assert.deepEqual(await call('get', { key: 'ttl', opts: { cacheTtl: 5 } }), {
      error: 'Error: KV GET failed: 400 Invalid cache_ttl of 5. Cache TTL must be at least 30.',
    });
  });
  it('counted as answered in the isolate; reads after the response go to the PoP', async () => {
    const scrape = async () => {
      const text = await (
        await fetch(`${dev.url}/__outpost/metrics`, {
          headers: { authorization: `Bearer ${dev.adminToken}` },
        })
      ).text();
      const count = (by: string) =>
        [
          ...text.matchAll(
            new RegExp(
              `^outpost_kv_operations_total\\{[^}]*op="get"[^}]*answered_by="${by}"[^}]*\\} (\\d+)`,
              'gm',
            ),
          ),
        ].reduce((n, m) => n + Number(m[1]), 0);
      return { isolate: count('isolate'), pop: count('pop') };
    };
    await call('put', { key: 'late', value: 'v' });
    await call('get', { key: 'late' });
    const before = await scrape();
    assert.deepEqual((await call('read-after-response', { key: 'late' })).result, 'v');
    await new Promise((r) => setTimeout(r, 200)); // the waitUntil read
    const after = await scrape();
    assert.equal(after.isolate - before.isolate, 1, 'the read before the response');
    assert.equal(after.pop - before.pop, 1, 'the read in waitUntil, after it');
  });
});
