// The compatibility corpus: real npm libraries, in projects written the way their docs show,
// run unchanged inside Outpost. Each project is served by `outpost dev` and spoken to over HTTP.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import { startFixture, startUpstream, type TestDev, type Upstream } from '../helpers.ts';

const here = import.meta.dirname;
// Behaviour, not limits: a generous CPU limit keeps a loaded CI machine from failing first
// requests (isolated-vm's cpuTime grows while the isolate's thread is descheduled).
// The projects take their npm packages from the repository's node_modules, as a monorepo's
// packages take a hoisted one: the repository is their build root (docs/runtime.md#bundling).
const behaviour = { limits: { cpuMs: 1000 }, buildRoot: join(here, '..', '..') };

describe('Hono', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture(join(here, 'hono'), behaviour);
  });
  after(() => dev.close());
  const get = (path: string, init?: RequestInit) => fetch(`${dev.url}${path}`, init);

  it('routes with params, regex constraints and queries; 404 handler', async () => {
    assert.equal(await (await get('/')).text(), 'hello hono');
    assert.deepEqual(await (await get('/api/users/42?q=x')).json(), { id: 42, q: 'x' });
    const nf = await get('/api/users/abc');
    assert.equal(nf.status, 404);
    assert.deepEqual(await nf.json(), { error: 'not found', path: '/api/users/abc' });
  });
  it('cors answers preflights and decorates responses', async () => {
    const pre = await get('/api/echo', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    const res = await get('/api/echo', {
      method: 'POST',
      headers: { origin: 'https://app.example', 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    assert.deepEqual(await res.json(), { got: { a: 1 }, ct: 'application/json' });
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  });
  it('secure-headers sets its headers', async () => {
    const res = await get('/api/users/1');
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(res.headers.get('strict-transport-security'));
  });
  it('etag answers If-None-Match with 304', async () => {
    const first = await get('/static/file');
    const tag = first.headers.get('etag');
    assert.ok(tag, 'etag header');
    const again = await get('/static/file', { headers: { 'if-none-match': tag! } });
    assert.equal(again.status, 304);
  });
  it('basic-auth challenges and accepts', async () => {
    const denied = await get('/admin/panel');
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate') ?? '', /Basic/);
    const ok = await get('/admin/panel', { headers: { authorization: `Basic ${btoa('admin:pa55')}` } });
    assert.equal(await ok.text(), 'admin only');
  });
  it('jwt: signs with hono/jwt and verifies in middleware (HS256 through crypto.subtle)', async () => {
    const { token } = (await (await get('/token')).json()) as { token: string };
    assert.equal((await get('/private/me')).status, 401);
    const me = await get('/private/me', { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(await me.json(), { sub: 'user-1', role: 'editor' });
    // One character of the signature changed for another (the last ones may carry only padding bits).
    const at = token.lastIndexOf('.') + 5;
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    assert.equal(
      (await get('/private/me', { headers: { authorization: `Bearer ${tampered}` } })).status,
      401,
    );
  });
  it('streaming helpers: text lines arrive over time, bytes and SSE', async () => {
    const started = performance.now();
    const res = await get('/stream');
    const reader = res.body!.getReader();
    await reader.read();
    const first = performance.now() - started;
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const total = performance.now() - started;
    assert.ok(rest.includes('line 4'));
    assert.ok(first < total, `first chunk at ${first.toFixed(0)} ms, end at ${total.toFixed(0)} ms`);
    assert.deepEqual(
      [...new Uint8Array(await (await get('/bytes')).arrayBuffer())],
      [1, 2, 3, ...Buffer.from('tail')],
    );
    const sse = await get('/sse');
    assert.equal(sse.headers.get('content-type'), 'text/event-stream');
    assert.equal((await sse.text()).match(/event: tick/g)?.length, 3);
  });
  it('compress gzips with CompressionStream', async () => {
    const res = await fetch(`${dev.url}/compressed/big`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(await res.text(), 'compress me '.repeat(500)); // fetch inflates
  });
  it('timing, request-id and context storage (AsyncLocalStorage)', async () => {
    const res = await get('/ctx');
    assert.deepEqual(await res.json(), { who: 'storage' });
    assert.match(res.headers.get('server-timing') ?? '', /total/);
    assert.ok(res.headers.get('x-request-id'));
  });
  it('html helper escapes; JSX renderer renders', async () => {
    assert.equal(await (await get('/html')).text(), '<p>&lt;escaped&gt;</p>');
    assert.equal(
      await (await get('/page/hello')).text(),
      '<!DOCTYPE html><html lang="en"><body><h1>Hello JSX</h1></body></html>',
    );
  });
  it('HTTPException reaches onError', async () => {
    const res = await get('/boom');
    assert.equal(res.status, 418);
    assert.equal(await res.text(), 'teapot');
  });
});

describe('jose', () => {
  let dev: TestDev;
  let upstream: Upstream;
  const claims = { iss: 'https://issuer.example', aud: 'outpost' };
  before(async () => {
    dev = await startFixture(join(here, 'jose'), behaviour);
    upstream = await startUpstream();
  });
  after(async () => {
    await dev.close();
    await upstream.close();
  });
  const verify = async (body: object) => {
    const res = await fetch(`${dev.url}/verify`, { method: 'POST', body: JSON.stringify(body) });
    return res.json() as Promise<any>;
  };
  const tokenFor = (alg: string, key: jose.CryptoKey | jose.KeyObject, extra: object = {}) =>
    new jose.SignJWT({ ...extra })
      .setProtectedHeader({ alg, kid: 'k1' })
      .setIssuer(claims.iss)
      .setAudience(claims.aud)
      .setSubject(`${alg}-user`)
      .setExpirationTime('2m')
      .sign(key);

  for (const alg of ['RS256', 'ES256']) {
    it(`verifies ${alg} tokens against an SPKI key and a JWKS, refuses tampered and expired ones`, async () => {
      const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
      const spki = await jose.exportSPKI(publicKey);
      const token = await tokenFor(alg, privateKey);
      assert.deepEqual(await verify({ token, spki, alg }), { ok: true, sub: `${alg}-user`, alg });
      const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg };
      assert.deepEqual(await verify({ token, jwks: { keys: [jwk] }, alg }), {
        ok: true,
        sub: `${alg}-user`,
        alg,
      });
      const [head, , sig] = token.split('.');
      const forged = `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${sig}`;
      assert.equal(
        (await verify({ token: forged, spki, alg })).code,
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
      const expired = await new jose.SignJWT({})
        .setProtectedHeader({ alg })
        .setIssuer(claims.iss)
        .setAudience(claims.aud)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(privateKey);
      assert.equal((await verify({ token: expired, spki, alg })).code, 'ERR_JWT_EXPIRED');
    });
  }
  it('fetches a remote JWKS with fetch()', async () => {
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    upstream.routes.set('/jwks.json', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    const token = await tokenFor('ES256', privateKey);
    assert.deepEqual(await verify({ token, jwksUrl: `${upstream.url}/jwks.json`, alg: 'ES256' }), {
      ok: true,
      sub: 'ES256-user',
      alg: 'ES256',
    });
  });
  it('signs ES256 tokens at the edge that Node verifies', async () => {
    const { token, jwk } = (await (await fetch(`${dev.url}/sign`)).json()) as {
      token: string;
      jwk: jose.JWK;
    };
    const { payload } = await jose.jwtVerify(token, await jose.importJWK(jwk, 'ES256'));
    assert.equal(payload.sub, 'from-the-edge');
    assert.equal(payload.scope, 'read');
  });
});

describe('itty-router, zod and mustache', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture(join(here, 'itty'), behaviour);
  });
  after(() => dev.close());
  const post = (body: unknown) =>
    fetch(`${dev.url}/todos`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });

  it('validates with zod and routes with itty', async () => {
    const ok = await post({ title: 'write tests', tags: ['a'] });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { title: 'write tests', done: false, tags: ['a'] });
    const bad = await post({ title: '', done: 'yes' });
    assert.equal(bad.status, 422);
    const issues = ((await bad.json()) as { issues: { path: string[] }[] }).issues.map((i) =>
      i.path.join('.'),
    );
    assert.deepEqual(issues.sort(), ['done', 'title']);
    assert.deepEqual(await (await fetch(`${dev.url}/todos/0`)).json(), {
      title: 'write tests',
      done: false,
      tags: ['a'],
    });
    assert.equal((await fetch(`${dev.url}/todos/9`)).status, 404);
  });
  it('renders a mustache template', async () => {
    const res = await fetch(`${dev.url}/page?name=Ada`);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await res.text(), /<li>write tests<\/li><\/ul><p>1 items for Ada<\/p>/);
  });
});
