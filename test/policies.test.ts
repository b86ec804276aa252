// Platform policies ([security] in outpost.toml) in front of a worker: a JWT policy with keys in
// the worker's KV namespace, claims forwarded as headers, client-sent claim headers removed,
// failures answered before the worker runs, each decision counted and logged.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadProxyConfig, validateProxyConfig } from '../src/config/index.ts';
import { parseSecurity } from '../src/config/security.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { startProxy } from '../src/pop/index.ts';
import { Policies, pathForms } from '../src/pop/policies.ts';
import { startFixture, startUpstream, type TestDev } from './helpers.ts';

describe('security policies before the worker', () => {
  let dev: TestDev;
  let signer: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  const sign = (claims: Record<string, unknown>, exp = Math.floor(Date.now() / 1000) + 600) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setExpirationTime(exp).sign(signer);

  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    signer = pair.privateKey;
    const security = parseSecurity(
      {
        jwt: [
          {
            paths: ['/api/*'],
            algorithms: ['ES256'],
            keys_kv: 'JWT_KEYS',
            keys_prefix: 'jwk:',
            issuer: 'https://auth.example',
            forward: { sub: 'X-User-ID', permissions: 'X-User-Permissions' },
            max_token_bytes: 4096,
          },
        ],
      },
      'outpost.toml',
    );
    dev = await startFixture('policies', { ...(security ? { security } : {}) });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
    await dev.runtime.kv?.put('jwt-keys', 'jwk:k1', new TextEncoder().encode(JSON.stringify(jwk)));
  });
  after(() => dev.close());

  it('a valid token reaches the worker with its claims as headers; forged claim headers are dropped', async () => {
    const token = await sign({ sub: 'user-42', iss: 'https://auth.example', permissions: ['read', 'write'] });
    const res = await fetch(`${dev.url}/api/orders`, {
      headers: { authorization: `Bearer ${token}`, 'x-user-id': 'admin', 'x-user-permissions': 'all' },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-user-id'], 'user-42');
    assert.equal(body.headers['x-user-permissions'], 'read,write');
    // Outside the policy's paths the forged headers are removed too.
    const open = (await (
      await fetch(`${dev.url}/public`, { headers: { 'x-user-id': 'admin', 'X-User-Permissions': 'all' } })
    ).json()) as { headers: Record<string, string> };
    assert.equal(open.headers['x-user-id'], undefined);
    assert.equal(open.headers['x-user-permissions'], undefined);
  });

  it('no token, a bad one, an expired one: 401 JSON with a reason and a Bearer challenge, the worker never runs', async () => {
    const none = await fetch(`${dev.url}/api/orders`);
    assert.equal(none.status, 401);
    for (const around of ['/%61pi/orders', '//api/orders', '/public/../api/orders', '/api%2forders'])
      assert.equal((await fetch(`${dev.url}${around}`)).status, 401, around);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="127.0.0.1"');
    assert.match(none.headers.get('cf-ray') ?? '', /-DEV$/);
    assert.equal(((await none.json()) as { reason: string }).reason, 'missing_token');
    const expired = await fetch(`${dev.url}/api/orders`, {
      headers: { authorization: `Bearer ${await sign({ sub: 'u', iss: 'https://auth.example' }, 1000)}` },
    });
    assert.equal(expired.status, 401);
    assert.match(
      expired.headers.get('www-authenticate') ?? '',
      /error="invalid_token", error_description="token_expired"/,
    );
    assert.deepEqual(Object.keys((await expired.json()) as object).sort(), ['error', 'message', 'reason']);
    const wrongIssuer = await fetch(`${dev.url}/api/orders`, {
      headers: { authorization: `Bearer ${await sign({ sub: 'u', iss: 'https://evil.example' })}` },
    });
    assert.equal(((await wrongIssuer.json()) as { reason: string }).reason, 'invalid_issuer');
    for (const bad of [
      'Bearer',
      'Bearer a.b',
      `Bearer ${'x'.repeat(10_000)}`,
      'Bearer ..',
      'Bearer a.b.c.d',
    ]) {
      const r = await fetch(`${dev.url}/api/orders`, { headers: { authorization: bad } });
      assert.equal(r.status, 401, bad.slice(0, 20));
      const reason = ((await r.json()) as { reason: string }).reason;
      assert.ok(
        ['missing_token', 'malformed_token', 'token_too_large'].includes(reason),
        `${bad.slice(0, 20)}: ${reason}`,
      );
    }
    const line = dev.logs.find((l) => l.source === 'request' && l.fields?.policy === 'jwt:token_expired');
    assert.ok(line, 'the log line names the policy and reason');
    const metrics = await (
      await fetch(`${dev.url}/__outpost/metrics`, { headers: { authorization: `Bearer ${dev.adminToken}` } })
    ).text();
    assert.match(
      metrics,
      /outpost_policy_decisions_total\{[^}]*policy="jwt"[^}]*decision="token_expired"[^}]*\} 1/,
    );
    assert.match(
      metrics,
      /outpost_policy_decisions_total\{[^}]*policy="jwt"[^}]*decision="allow"[^}]*\} [1-9]/,
    );
  });

  it('outpost.toml [security] is read and validated, naming the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-security-'));
    try {
      writeFileSync(
        join(dir, 'outpost.toml'),
        '[[security.jwt]]\nalgorithms = ["RS256"]\njwks_url = "https://idp.example/jwks.json"\naudience = "api"\n',
      );
      const config = loadProxyConfig(dir, {});
      assert.equal(config.security?.jwt[0].keys.kind, 'jwks');
      assert.deepEqual(config.security?.jwt[0].audience, ['api']);
      writeFileSync(join(dir, 'outpost.toml'), '[[security.jwt]]\nalgorithms = ["RS256"]\njwks_url = 5\n');
      assert.throws(
        () => loadProxyConfig(dir, {}),
        /"security\.jwt\[0\]\.jwks_url" must be an http\(s\) URL/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rate-limit policies before the worker', () => {
  let dev: TestDev;
  before(async () => {
    const security = parseSecurity(
      {
        rate_limit: [
          { name: 'api', paths: ['/api/*'], limit: 3, period: 60, key: 'header:X-API-Key' },
          { name: 'login', paths: ['/login'], methods: ['POST'], limit: 1, period: 10, mode: 'fixed' },
        ],
      },
      'outpost.toml',
    );
    dev = await startFixture('policies', { ...(security ? { security } : {}) });
  });
  after(() => dev.close());

  it('counts per key; the request past the limit gets 429 with Retry-After and RateLimit fields', async () => {
    const call = (key: string) => fetch(`${dev.url}/api/x`, { headers: { 'x-api-key': key } });
    for (let i = 0; i < 3; i++) {
      const ok = await call('alice');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('ratelimit-policy'), '"api";q=3;w=60');
      // t: seconds until the oldest hit leaves the 60 s window (59 once a slow run passed 1 s).
      assert.match(ok.headers.get('ratelimit') ?? '', new RegExp(`^"api";r=${2 - i};t=(59|60)$`));
      await ok.arrayBuffer();
    }
    const refused = await call('alice');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.match(refused.headers.get('ratelimit') ?? '', /^"api";r=0;t=\d+$/);
    assert.equal(((await refused.json()) as { error: string }).error, 'rate_limited');
    assert.equal((await call('bob')).status, 200, 'another key has its own count');
    // Not on the policy's paths, or another method: not counted.
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${dev.url}/login`)).status, 200);
    assert.equal((await fetch(`${dev.url}/login`, { method: 'POST', body: 'a' })).status, 200);
    assert.equal((await fetch(`${dev.url}/login`, { method: 'POST', body: 'a' })).status, 429);
    const line = dev.logs.find(
      (l) => l.source === 'request' && l.fields?.policy === 'rate_limit:login:block',
    );
    assert.equal(line?.fields?.status, 429);
  });

  it('a bad [[security.rate_limit]] table stops the start, naming the file and key', () => {
    const security = parseSecurity({ rate_limit: [{ name: 'a', limit: 'ten', period: 60 }] }, 'outpost.toml');
    assert.throws(
      () => new Policies(security as NonNullable<typeof security>),
      /^Error: outpost\.toml: security\.rate_limit\[0\]\.limit: expected an integer ≥ 1, received "ten"/,
    );
  });
});

describe('policies in CDN proxy mode (before the cache)', () => {
  it('a JWT policy with keys from a JWKS URL guards the origin and forwards the claims to it', async () => {
    const upstream = await startUpstream();
    const pair = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'RS256' };
    upstream.routes.set('/jwks.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    const seen: (string | undefined)[] = [];
    upstream.routes.set('/private', (req, res) => {
      seen.push(req.headers['x-user-id'] as string | undefined);
      res.writeHead(200, { 'cache-control': 'public, max-age=60' });
      res.end('secret');
    });
    const config = validateProxyConfig(
      {
        security: {
          jwt: [
            {
              paths: ['/private'],
              algorithms: ['RS256'],
              jwks_url: `${upstream.url}/jwks.json`,
              forward: { sub: 'X-User-ID' },
            },
          ],
        },
      },
      'outpost.toml',
      tmpdir(),
    );
    const proxy = await startProxy({ origin: upstream.url, port: 0, observer: memoryObserver(), config });
    try {
      const token = await new SignJWT({ sub: 'carol' })
        .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
        .setExpirationTime('1h')
        .sign(pair.privateKey);
      const ok = await fetch(`${proxy.url}/private`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'secret');
      assert.deepEqual(seen, ['carol']);
      // The response is cached now: a request without a token is still refused, before the cache.
      const none = await fetch(`${proxy.url}/private`);
      assert.equal(none.status, 401);
      assert.equal(((await none.json()) as { reason: string }).reason, 'missing_token');
      assert.equal(upstream.hits.get('/jwks.json'), 1);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('the WAF reads a prefix of a body before the cache; the origin still gets the body whole', async () => {
    const upstream = await startUpstream();
    const config = validateProxyConfig(
      { security: { waf: { inspect_body_bytes: 1024 } } },
      'outpost.toml',
      tmpdir(),
    );
    const proxy = await startProxy({ origin: upstream.url, port: 0, observer: memoryObserver(), config });
    try {
      const attack = await fetch(`${proxy.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=x&bio=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      });
      assert.equal(attack.status, 403);
      assert.equal(upstream.hits.get('/echo'), undefined, 'the origin never saw it');
      const text = `${"O'Brien wrote: # heading -- and more. ".repeat(100)}end`;
      const ok = await fetch(`${proxy.url}/echo`, { method: 'POST', body: text });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), `POST ${text}`);
      const blockedQuery = await fetch(`${proxy.url}/json?file=..%252f..%252f..%252fetc%252fpasswd`);
      assert.equal(blockedQuery.status, 403);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('keys_kv is refused in CDN proxy mode (no KV there), naming the key', async () => {
    const config = validateProxyConfig(
      { security: { jwt: [{ algorithms: ['RS256'], keys_kv: 'K' }] } },
      'outpost.toml',
      tmpdir(),
    );
    await assert.rejects(
      startProxy({ origin: 'http://127.0.0.1:9', port: 0, observer: memoryObserver(), config }),
      /security\.jwt\[0\]\.keys_kv: CDN proxy mode has no KV namespaces/,
    );
  });
});

describe('the WAF before the worker', () => {
  let dev: TestDev;
  before(async () => {
    const security = parseSecurity(
      { waf: { reveal_rule_id: true, inspect_body_bytes: 4096 } },
      'outpost.toml',
    );
    dev = await startFixture('policies', { ...(security ? { security } : {}) });
  });
  after(() => dev.close());

  it('blocks attacks (encoded too) with 403, lets ordinary text through, and logs and counts each match', async () => {
    const blocked = await fetch(
      `${dev.url}/search?q=${encodeURIComponent(encodeURIComponent("' OR 1=1 --"))}`,
    );
    assert.equal(blocked.status, 403);
    assert.match(blocked.headers.get('outpost-waf-rule') ?? '', /^\d+$/);
    assert.equal(((await blocked.json()) as { error: string }).error, 'blocked');
    const xss = await fetch(`${dev.url}/comments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '<script>alert(document.cookie)</script>' }),
    });
    assert.equal(xss.status, 403);
    for (const q of ["O'Brien", 'C# -- notes', 'select the best union plan', 'Rock & Roll <3']) {
      const ok = await fetch(`${dev.url}/search?q=${encodeURIComponent(q)}`);
      assert.equal(ok.status, 200, q);
      await ok.arrayBuffer();
    }
    const line = dev.logs.find(
      (l) => l.source === 'request' && String(l.fields?.policy).startsWith('waf:block'),
    );
    assert.equal(line?.fields?.status, 403);
    const match = dev.logs.find((l) => l.source === 'outpost' && l.message.startsWith('waf: block'));
    assert.ok(Array.isArray(match?.fields?.rules) && (match?.fields?.rules as string[]).length > 0);
    const metrics = await (
      await fetch(`${dev.url}/__outpost/metrics`, { headers: { authorization: `Bearer ${dev.adminToken}` } })
    ).text();
    assert.match(metrics, /outpost_waf_matches_total\{[^}]*category="sqli"[^}]*\} [1-9]/);
    assert.match(metrics, /outpost_policy_decisions_total\{[^}]*policy="waf"[^}]*decision="block"[^}]*\} 2/);
  });

  it('reads only a prefix of a large body, and the worker still gets all of it', async () => {
    const big = `${'a'.repeat(8000)}<script>alert(1)</script>`;
    const res = await fetch(`${dev.url}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: big,
    });
    assert.equal(res.status, 200, 'the attack lies past the inspected prefix (documented)');
    const seen = (await res.json()) as { bodyLength: number; bodyStart: string };
    assert.equal(seen.bodyLength, big.length);
    assert.equal(seen.bodyStart, 'a'.repeat(64));
    const early = await fetch(`${dev.url}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `<script>alert(1)</script>${'a'.repeat(8000)}`,
    });
    assert.equal(early.status, 403, 'within the prefix it is caught');
  });
});

describe('the WAF sanitizing instead of blocking', () => {
  let dev: TestDev;
  before(async () => {
    const security = parseSecurity({ waf: { sanitize: true, inspect_body_bytes: 2048 } }, 'outpost.toml');
    dev = await startFixture('policies', { ...(security ? { security } : {}) });
  });
  after(() => dev.close());

  it('drops the offending parameter from the query and from a form body; a cut-off body is blocked, never cut', async () => {
    const q = await fetch(
      `${dev.url}/search?q=shoes&id=${encodeURIComponent("1' UNION SELECT password FROM users--")}`,
    );
    assert.equal(q.status, 200);
    const seen = (await q.json()) as { search: string };
    assert.match(seen.search, /q=shoes/);
    assert.doesNotMatch(seen.search, /union/i);
    const form = await fetch(`${dev.url}/profile`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `name=${encodeURIComponent("O'Brien")}&bio=${encodeURIComponent('<script>alert(1)</script>')}`,
    });
    assert.equal(form.status, 200);
    const body = (await form.json()) as {
      bodyStart: string;
      bodyLength: number;
      headers: Record<string, string>;
    };
    assert.match(body.bodyStart, /name=O/);
    assert.doesNotMatch(body.bodyStart, /script/i);
    const long = await fetch(`${dev.url}/profile`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `bio=${encodeURIComponent('<script>alert(1)</script>')}&pad=${'a'.repeat(5000)}`,
    });
    assert.equal(
      long.status,
      403,
      'a body longer than the inspected prefix is not sanitized into its prefix',
    );
  });
});

describe('policy paths', () => {
  it('match the path as parsed, decoded and with repeated slashes collapsed', () => {
    assert.deepEqual(pathForms('/api/x'), ['/api/x']);
    assert.ok(pathForms('/%61pi/x').includes('/api/x'));
    assert.ok(pathForms('/%2561pi/x').includes('/api/x'), 'double encoding');
    assert.ok(pathForms('//api//x').includes('/api/x'));
    assert.ok(pathForms('/%61pi/%ZZ').includes('/api/%ZZ'), 'a malformed escape does not stop the rest');
  });

  it('a route with a host applies on that host only (any case, any port); the dev address stands in for the zone', async () => {
    const security = parseSecurity(
      {
        rate_limit: [
          { name: 'admin', paths: ['Admin.Shop.Example/*'], limit: 1, period: 60, mode: 'fixed' },
          { name: 'sub', paths: ['*.shop.example/api/*'], limit: 1, period: 60, mode: 'fixed', key: 'path' },
        ],
      },
      'outpost.toml',
    );
    assert.ok(security);
    const policies = new Policies(security, {
      hostOf: (u) => (u.hostname === '127.0.0.1' ? 'admin.shop.example' : u.hostname),
    });
    const hit = async (url: string) =>
      (
        await policies.apply({
          method: 'GET',
          url: new URL(url),
          headers: ['cf-connecting-ip', '203.0.113.5'],
          pop: 'FRA',
          worker: 'w',
          scope: undefined,
          kv: null,
        })
      )?.status ?? 200;
    assert.equal(await hit('http://admin.shop.example:8443/x'), 200);
    assert.equal(await hit('http://ADMIN.shop.example/y'), 429, 'the same host, any case and port');
    assert.equal(await hit('http://shop.example/x'), 200, 'another host: not this route');
    assert.equal(await hit('http://shop.example/x'), 200);
    assert.equal(await hit('http://127.0.0.1:8787/z'), 429, "the dev address is the zone's host here");
    assert.equal(await hit('http://eu.shop.example/api/a'), 200);
    assert.equal(await hit('http://us.shop.example/api/a'), 429, 'a wildcard host, one count per path');
    assert.equal(await hit('http://shop.example/api/a'), 200, '*.shop.example needs a subdomain');
    assert.throws(
      () =>
        parseSecurity(
          { jwt: [{ algorithms: ['RS256'], jwks_url: 'https://a.example/j', paths: ['x'] }] },
          'o.toml',
        ),
      /"security\.jwt\[0\]\.paths" must be a non-empty array of path patterns starting with "\/", or routes with a host first/,
    );
  });
});

describe('rate-limit counters placed as Durable Objects in a network', () => {
  const request = (pop: string) => ({
    method: 'GET',
    url: new URL('http://site.example/api/x'),
    headers: ['cf-connecting-ip', '203.0.113.9'],
    pop,
    worker: 'w',
    scope: undefined,
    kv: null,
  });

  it('an exact counter lives where its key was first hit; other PoPs pay the trip and share its count', async () => {
    const trips: string[] = [];
    const security = parseSecurity({ rate_limit: [{ name: 'api', limit: 2, period: 60 }] }, 'outpost.toml');
    const policies = new Policies(security as NonNullable<typeof security>, {
      placement: {
        place: (from) => from,
        trip: (from, to) => {
          trips.push(`${from}->${to}`);
          return { ms: 40, wait: true };
        },
      },
    });
    assert.equal(await policies.apply(request('FRA')), null, 'placed in FRA');
    const t = performance.now();
    assert.equal(await policies.apply(request('SYD')), null);
    assert.ok(performance.now() - t >= 38, 'the trip to FRA is waited');
    assert.deepEqual(trips, ['SYD->FRA']);
    assert.equal((await policies.apply(request('NRT')))?.status, 429, 'one count for the whole network');
  });

  it('a local counter stays in each PoP, with no trip', async () => {
    const security = parseSecurity(
      { rate_limit: [{ name: 'api', limit: 1, period: 60, mode: 'local' }] },
      'outpost.toml',
    );
    const policies = new Policies(security as NonNullable<typeof security>, {
      placement: {
        place: () => 'FRA',
        trip: () => {
          throw new Error('no trip for a local counter');
        },
      },
    });
    assert.equal(await policies.apply(request('FRA')), null);
    assert.equal(await policies.apply(request('SYD')), null, 'SYD counts alone');
    assert.equal((await policies.apply(request('SYD')))?.status, 429);
  });
});
