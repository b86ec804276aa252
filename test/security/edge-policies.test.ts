// Attacks on the platform policies before the worker (docs/edge-security.md), from an
// adversarial review: reaching a JWT-guarded path without a token, smuggling the claim headers
// the edge forwards, counting around rate limits, and a token that crashed the check.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parseSecurity } from '../../src/config/security.ts';
import { Policies } from '../../src/pop/policies.ts';
import { startFixture, type TestDev } from '../helpers.ts';

describe('edge policies under attack', () => {
  let dev: TestDev;
  let token: string;
  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const security = parseSecurity(
      {
        jwt: [
          {
            paths: ['/api/*'],
            algorithms: ['ES256'],
            keys_kv: 'JWT_KEYS',
            forward: { sub: 'X-User-ID' },
          },
        ],
        rate_limit: [{ name: 'login', paths: ['/login'], limit: 2, period: 60, key: 'path' }],
      },
      'outpost.toml',
    );
    dev = await startFixture('policies', { ...(security ? { security } : {}) });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
    await dev.runtime.kv?.put('jwt-keys', 'k1', new TextEncoder().encode(JSON.stringify(jwk)));
    token = await new SignJWT({ sub: 'dana' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setExpirationTime('1h')
      .sign(pair.privateKey);
  });
  after(() => dev.close());

  /** A raw HTTP/1.1 request, so fields can repeat. */
  const raw = (path: string, headers: Record<string, string | string[]>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = request(`${dev.url}${path}`, { headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      r.on('error', reject);
      r.end();
    });

  it('/api/* guards /api itself', async () => {
    assert.equal((await fetch(`${dev.url}/api`)).status, 401);
    assert.equal((await fetch(`${dev.url}/apiary`)).status, 200, 'not a prefix of names');
  });

  it('claim headers with underscores are stripped too; two Authorization fields are refused', async () => {
    const seen = JSON.parse((await raw('/public', { x_user_id: 'admin', 'X_User-Id': 'admin' })).body) as {
      headers: Record<string, string>;
    };
    assert.equal(seen.headers.x_user_id, undefined);
    assert.equal(seen.headers['x_user-id'], undefined);
    const two = await raw('/api/x', { authorization: [`Bearer ${token}`, 'Bearer forged.token.here'] });
    assert.equal(two.status, 401);
    assert.equal((JSON.parse(two.body) as { reason: string }).reason, 'malformed_token');
    assert.equal((await raw('/api/x', { authorization: `Bearer ${token}` })).status, 200);
  });

  it('several Cookie fields reach the worker as one, joined with "; "', async () => {
    const seen = JSON.parse((await raw('/public', { cookie: ['a=1', 'b=2'] })).body) as {
      headers: Record<string, string>;
    };
    assert.equal(seen.headers.cookie, 'a=1; b=2');
  });

  it('a path-keyed limit counts /login however it is spelled', async () => {
    assert.equal((await fetch(`${dev.url}/login`)).status, 200);
    assert.equal((await fetch(`${dev.url}/%6cogin`)).status, 200);
    for (const spelled of ['//login', '/%6Cogin', '/%256cogin', '/login'])
      assert.equal((await fetch(`${dev.url}${spelled}`)).status, 429, spelled);
  });

  it('a token whose alg is a deeply nested value is a 401, not a 500', async () => {
    const head = Buffer.from(`{"alg":${'['.repeat(5000)}"x"${']'.repeat(5000)}}`).toString('base64url');
    const res = await fetch(`${dev.url}/api/x`, { headers: { authorization: `Bearer ${head}.e30.AAAA` } });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { reason: string }).reason, 'unsupported_algorithm');
  });

  it('methods compare in upper case (HTTP/2 may send "post")', async () => {
    const security = parseSecurity(
      { rate_limit: [{ name: 'm', methods: ['POST'], limit: 1, period: 60 }] },
      'outpost.toml',
    );
    const policies = new Policies(security as NonNullable<typeof security>);
    const req = (method: string) => ({
      method,
      url: new URL('http://x/form'),
      headers: ['cf-connecting-ip', '198.51.100.1'],
      pop: 'DEV',
      worker: 'w',
      scope: undefined,
      kv: null,
    });
    assert.equal(await policies.apply(req('post')), null);
    assert.equal((await policies.apply(req('Post')))?.status, 429);
  });
});
