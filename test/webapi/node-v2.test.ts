// nodejs_compat at compatibility date 2025-09-01: the process global (env from vars and
// secrets, getBuiltinModule), node:path, node:url, node:querystring, node:fs (workerd's virtual
// file system), node:http's client over fetch, and node:http servers through cloudflare:node.
// Results are compared with Node's own modules.
import assert from 'node:assert/strict';
import path from 'node:path';
import qs from 'node:querystring';
import { after, before, describe, it } from 'node:test';
import url from 'node:url';
import { startFixture, startUpstream, type TestDev, type Upstream } from '../helpers.ts';

let dev: TestDev;
let upstream: Upstream;
before(async () => {
  upstream = await startUpstream();
  dev = await startFixture('node-v2');
});
after(async () => {
  await dev?.close();
  await upstream?.close();
});

const json = async (p: string) => {
  const res = await fetch(`${dev.url}${p}`);
  assert.equal(res.status, 200, `${p}: ${await res.clone().text()}`);
  return res.json() as Promise<any>;
};

describe('nodejs_compat (2025-09-01)', () => {
  it('a global process whose env holds the text vars and secrets, and getBuiltinModule', async () => {
    assert.deepEqual(await json('/process'), {
      type: 'object',
      greeting: 'hello',
      secret: 'from-dev-vars',
      json: null,
      joined: '/a/b',
      none: null,
      platform: 'linux',
      buffer: 'aGk=',
    });
  });

  it('node:path as Node computes it', async () => {
    const r = await json('/path');
    assert.equal(r.join, path.join('/a/b', '../c', 'd.txt'));
    assert.equal(r.resolve, path.resolve('/x', 'y', '..', 'z'));
    assert.equal(r.relative, path.relative('/a/b/c', '/a/d'));
    assert.deepEqual(r.parse, path.parse('/home/u/file.tar.gz'));
    assert.equal(r.posix, true, 'path.posix is there');
  });

  it('node:url: legacy parse/format/resolve and the file URL helpers', async () => {
    const r = await json('/url');
    const want = JSON.parse(JSON.stringify(url.parse('https://user:pw@example.com:8080/p/a?x=1#h', true)));
    assert.deepEqual(r.parsed, want);
    assert.equal(r.file, '/tmp/a b.txt');
    assert.equal(r.toUrl, url.pathToFileURL('/tmp/a b.txt').href);
    assert.equal(
      r.formatted,
      url.format({ protocol: 'https', host: 'example.com', pathname: '/x', query: { a: '1' } }),
    );
    assert.equal(r.resolved, url.resolve('https://a.example/b/c', '../d'));
  });

  it('node:querystring', async () => {
    const r = await json('/qs');
    assert.deepEqual(r.parsed, { ...qs.parse('a=1&b=2&b=3&c=%20') });
    assert.equal(r.str, qs.stringify({ x: [1, 2], y: 'z w' }));
  });

  it('node:fs: a writable /tmp in memory, read-only elsewhere, errors as Node reports them', async () => {
    assert.deepEqual(await json('/fs'), {
      read: 'one+two',
      promised: 'one+two',
      list: ['b.bin', 'nested'],
      size: 3,
      isDir: true,
      devNull: 0,
      exists: [true, false],
      readOnly: "EROFS: EROFS: read-only file system, open '/bundle/x.txt'",
      missing: "ENOENT: ENOENT: no such file or directory, open '/tmp/missing.txt'",
      notEmpty: "ENOTEMPTY: ENOTEMPTY: directory not empty, rmdir '/tmp/data'",
    });
  });

  it('node:http requests go out through fetch', async () => {
    const r = await json(`/http-client?target=${encodeURIComponent(`${upstream.url}/json?q=1`)}`);
    assert.equal(r.got.status, 200);
    assert.equal(r.got.type, 'application/json');
    assert.deepEqual(JSON.parse(r.got.body), { query: '?q=1', sent: null });
    assert.equal(r.posted, 'POST part one, part two');
  });
});

describe('cloudflare:node httpServerHandler', () => {
  let server: TestDev;
  before(async () => {
    server = await startFixture('node-http-server');
  });
  after(() => server?.close());

  it('runs a node:http server handler for each request', async () => {
    const res = await fetch(`${server.url}/items?x=1`, {
      method: 'POST',
      body: 'payload',
      headers: { 'user-agent': 'test-agent' },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.deepEqual(await res.json(), {
      method: 'POST',
      url: '/items?x=1',
      agent: 'test-agent',
      body: 'payload',
    });
  });

  it('streams what the handler writes', async () => {
    const res = await fetch(`${server.url}/stream`);
    assert.equal(await res.text(), 'first,second');
  });
});

describe('before the compatibility dates', () => {
  it('process.env stays empty and node:fs is refused, naming the date and flag', async () => {
    const old = await startFixture('node-old-date');
    try {
      const r = (await (await fetch(`${old.url}/`)).json()) as { greeting: string | null; fsError: string };
      assert.equal(r.greeting, null);
      assert.match(
        r.fsError,
        /node:fs.*compatibility_date = "2025-09-01" or later, or the "enable_nodejs_fs_module" compatibility flag/,
      );
    } finally {
      await old.close();
    }
  });
});
