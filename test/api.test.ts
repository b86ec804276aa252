// HTTP integration tests for the first slice of the Workers API, against test/fixtures/api.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixture, startUpstream, type TestDev, type Upstream, waitFor } from './helpers.ts';

let dev: TestDev;
let upstream: Upstream;

before(async () => {
  upstream = await startUpstream();
  dev = await startFixture('api', { origin: undefined });
});
after(async () => {
  await dev.close();
  await upstream.close();
});

const json = async (path: string, init?: RequestInit) => {
  const res = await fetch(`${dev.url}${path}`, init);
  assert.equal(res.status, 200, `${path} answered ${res.status}: ${await res.clone().text()}`);
  return res.json() as Promise<any>;
};

describe('env and request.cf', () => {
  it('exposes vars of every type and .dev.vars secrets', async () => {
    const env = await json('/env');
    assert.deepEqual(env, {
      PLAIN: 'plain value',
      NUMBER: 42,
      NESTED: { a: [1, 2], b: 'x' },
      SECRET_TOKEN: 's3cr3t',
      QUOTED: 'with spaces',
    });
  });
  it('fills request.cf with location fields', async () => {
    const cf = await json('/cf');
    for (const k of ['colo', 'country', 'city', 'latitude', 'longitude', 'timezone'])
      assert.ok(cf[k], `cf.${k}`);
    assert.equal(cf.httpProtocol, 'HTTP/1.1');
  });
  it('warned once about the unknown config key', () => {
    assert.equal(dev.logs.filter((l) => l.message.includes('unknown_future_key')).length, 1);
  });
});

describe('Request, Response, Headers', () => {
  it('echoes method, headers and body', async () => {
    const r = await json('/echo?x=1', { method: 'POST', body: 'hello body', headers: { 'X-Custom': 'v' } });
    assert.equal(r.method, 'POST');
    assert.equal(r.body, 'hello body');
    assert.equal(r.headers['x-custom'], 'v');
    assert.equal(r.used, true);
    assert.match(r.url, /\/echo\?x=1$/);
  });
  it('round-trips binary bodies byte for byte', async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    const res = await fetch(`${dev.url}/echo-binary`, { method: 'PUT', body: bytes });
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
  });
  it('streams a request body through a TransformStream', async () => {
    const res = await fetch(`${dev.url}/stream-echo`, { method: 'POST', body: 'abc-xyz' });
    assert.equal(await res.text(), 'ABC-XYZ');
  });
  it('implements Headers (sorting, combining, Set-Cookie, immutability, validation)', async () => {
    const h = await json('/headers');
    assert.deepEqual(h.entries, [
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['x-a', '1, again'],
      ['x-b', '2'],
    ]);
    assert.deepEqual(h.cookies, ['a=1', 'b=2']);
    assert.equal(h.get, '1, again');
    assert.equal(h.has, true);
    assert.equal(h.immutable, "Can't modify immutable headers.");
    assert.equal(h.invalid, 'TypeError');
  });
  it('follows Fetch body rules (single use, clone, GET without body, status range)', async () => {
    const b = await json('/body-rules');
    assert.match(b.second, /^TypeError: Body has already been used/);
    assert.deepEqual(b.clones, ['twice', 'twice']);
    assert.equal(b.getBody, 'Request with a GET or HEAD method cannot have a body.');
    assert.equal(b.badStatus, 'RangeError');
    assert.deepEqual(b.redirect, [301, 'https://example.com/next']);
    assert.deepEqual(b.json, [201, 'application/json', { a: 1 }]);
    assert.equal(b.reqClone, 'rb');
  });
  it('passes custom status and statusText through', async () => {
    const res = await fetch(`${dev.url}/status?s=418`);
    assert.equal(res.status, 418);
    assert.equal(res.statusText, 'Custom');
  });
});

describe('URL, encoding, events, crypto, structuredClone', () => {
  it('parses and updates URLs like WHATWG URL', async () => {
    const u = await json('/url');
    assert.equal(u.before, 'https://user:pw@example.com:8443/p/a%20t?x=1&y=%20#frag');
    assert.equal(u.after, 'https://user:pw@example.com:8443/changed?x=1&y=+&z=a+b%26c');
    assert.equal(u.port, '8443');
    assert.equal(u.origin, 'https://example.com:8443');
    assert.deepEqual(u.params, [
      ['x', '1'],
      ['y', ' '],
      ['z', 'a b&c'],
    ]);
    assert.equal(u.sp, 'q=%C3%BC&r=1');
    assert.equal(u.canParse, true);
    assert.equal(u.invalid, 'TypeError: Invalid URL: not a url');
  });
  it('encodes and decodes UTF-8 and base64', async () => {
    const e = await json('/encoding');
    assert.deepEqual(e.bytes, Array.from(Buffer.from('héllo ✓ 𝄞')));
    assert.equal(e.roundtrip, 'héllo ✓ 𝄞');
    assert.equal(e.streamed, 'héllo ✓ 𝄞');
    assert.equal(e.fatal, 'TypeError');
    assert.equal(e.b64, Buffer.from('hello\u00ff', 'latin1').toString('base64'));
    assert.equal(e.unb64, 'hello');
    assert.equal(e.lossy, 'a\ufffdb');
  });
  it('sends a body given as text as UTF-8 with its length, a lone surrogate as U+FFFD', async () => {
    const res = await fetch(`${dev.url}/text-body`);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(bytes, Buffer.from('héllo ✓ 𝄞 \ufffd!', 'utf8'));
    assert.equal(res.headers.get('content-length'), String(bytes.byteLength));
    assert.equal(res.headers.get('content-type'), 'text/plain;charset=UTF-8');
  });
  it('dispatches events and builds DOMExceptions', async () => {
    const e = await json('/events');
    assert.deepEqual(e.seen, ['1:ping', '2:ping', '2:ping']);
    assert.deepEqual(e.ex, ['AbortError', 'msg', 20, true]);
  });
  it('aborts with reasons, timeouts and any()', async () => {
    const a = await json('/abort');
    assert.deepEqual(a.events, ['abort-event']);
    assert.equal(a.reason, 'why');
    assert.equal(a.timeoutName, 'TimeoutError');
    assert.equal(a.anyReason, 'first');
    assert.equal(a.thrown, 'why');
  });
  it('provides crypto.getRandomValues and randomUUID with the Web quota', async () => {
    const c = await json('/crypto');
    assert.equal(c.len, 16);
    assert.equal(c.nonZero, true);
    assert.match(c.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(c.quota, 'QuotaExceededError');
  });
  it('structured-clones values and refuses functions', async () => {
    const c = await json('/clone');
    assert.deepEqual(c, { same: false, date: true, map: { x: 1 }, fnErr: 'DataCloneError' });
  });
  it('has every global of the slice, and no Node globals', async () => {
    const g = await json('/globals');
    assert.deepEqual(g.names, []);
    assert.equal(g.ua, 'Cloudflare-Workers');
    assert.equal(g.self, true);
    assert.equal(g.noProcess, 'undefined');
    assert.equal(g.noRequire, 'undefined');
  });
});

describe('timers and ctx', () => {
  it('runs timeouts, intervals, microtasks and scheduler.wait', async () => {
    const t = await json('/timers');
    assert.deepEqual(t.order, ['microtask', 'interval1', 'interval2', 'interval3', 'timeout:arg']);
    assert.ok(t.elapsed >= 180, `elapsed ${t.elapsed}`);
  });
  it('timers due together run as tasks of their own: microtasks of one run before the next', async () => {
    for (let i = 0; i < 5; i++) {
      const t = await json('/timer-tasks');
      assert.deepEqual(t.order, ['A', 'A micro', 'A micro 2', 'B']);
    }
  });
  it('finishes ctx.waitUntil work after the response', async () => {
    const id = `w${Date.now()}`;
    const res = await fetch(`${dev.url}/waituntil?upstream=${encodeURIComponent(upstream.url)}&id=${id}`);
    assert.equal(await res.text(), 'responded before waitUntil finished');
    assert.ok(!upstream.records.includes(id), 'waitUntil work should still be pending');
    await waitFor(() => upstream.records.includes(id), 3000, 'waitUntil subrequest');
  });
  it('sends console output to the host log tagged with the worker name', async () => {
    await fetch(`${dev.url}/console`);
    const lines = await waitFor(() => {
      const l = dev.logs.filter((e) => e.source === 'worker:api');
      return l.length >= 3 ? l : undefined;
    });
    assert.ok(
      lines.some((l) => l.level === 'info' && l.message === 'log line { nested: { deep: [ 1, 2 ] } } 3'),
    );
    assert.ok(lines.some((l) => l.level === 'warn' && l.message === 'warn line'));
    assert.ok(lines.some((l) => l.level === 'error' && l.message.startsWith('Error: logged error')));
  });
});

describe('fetch (subrequests)', () => {
  it('sends headers and bodies, follows or returns redirects', async () => {
    const f = await json(`/fetch?upstream=${encodeURIComponent(upstream.url)}`);
    assert.equal(f.status, 200);
    assert.deepEqual(f.json, { query: '?from=worker', sent: 'yes' });
    assert.equal(f.post, 'POST posted body');
    assert.equal(f.redirected, true);
    assert.match(f.redirectedUrl, /\/json\?redirected=1$/);
    assert.equal(f.manualStatus, 302);
    assert.equal(f.manualLocation, '/json?redirected=1');
  });
  it('streams a subrequest body straight through to the client', async () => {
    const res = await fetch(`${dev.url}/fetch-proxy?upstream=${encodeURIComponent(upstream.url)}`);
    assert.equal((await res.arrayBuffer()).byteLength, 16 * 64 * 1024);
  });
  it('reads a subrequest body chunk by chunk in the isolate', async () => {
    const r = await json(`/fetch-stream-read?upstream=${encodeURIComponent(upstream.url)}`);
    assert.equal(r.total, 16 * 64 * 1024);
    assert.ok(r.chunks > 1, `expected several chunks, got ${r.chunks}`);
  });
  it('aborts a subrequest with AbortController', async () => {
    const r = await json(`/fetch-abort?upstream=${encodeURIComponent(upstream.url)}`);
    assert.deepEqual(r, { aborted: true, name: 'AbortError' });
  });
  it('rejects unsupported schemes and unreachable hosts with TypeError', async () => {
    const r = await json('/fetch-bad');
    assert.equal(r[0], 'TypeError: Fetch API cannot load: ftp://example.com/');
    assert.match(r[1], /^TypeError: fetch failed/);
  });
});

describe('errors', () => {
  it('answers an uncaught exception with 500 and the source-mapped stack (dev mode)', async () => {
    const res = await fetch(`${dev.url}/throw`);
    assert.equal(res.status, 500);
    const body = await res.text();
    assert.match(body, /Error: thrown on purpose/);
    assert.match(body, /src\/index\.ts:\d+:\d+/);
    assert.ok(
      dev.logs.some((l) => l.level === 'error' && l.message.includes('thrown on purpose')),
      'logged',
    );
  });
  it('answers a rejected non-Error and a non-Response with 500 naming the problem', async () => {
    const a = await fetch(`${dev.url}/reject-string`);
    assert.equal(a.status, 500);
    assert.match(await a.text(), /a plain string/);
    const b = await fetch(`${dev.url}/non-response`);
    assert.equal(b.status, 500);
    assert.match(await b.text(), /did not resolve to 'Response'/);
  });
  it('logs a promise rejected and never handled, and still answers', async () => {
    const res = await fetch(`${dev.url}/stray-rejection`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'still answered');
    const line = await waitFor(
      () => dev.logs.find((l) => l.message.startsWith('Uncaught (in promise) Error: stray rejection')),
      3000,
      'uncaught log',
    );
    assert.equal(line.level, 'error');
    assert.equal(line.source, 'worker:api');
    const after = await fetch(`${dev.url}/stray-after-io`);
    assert.equal(await after.text(), 'still answered');
    await waitFor(
      () => dev.logs.find((l) => l.message.startsWith('Uncaught (in promise) Error: stray after io')),
      3000,
      'uncaught log after I/O',
    );
  });
  it('without an origin, passThroughOnException still answers 500', async () => {
    const res = await fetch(`${dev.url}/pass-through`);
    assert.equal(res.status, 500);
  });
});
