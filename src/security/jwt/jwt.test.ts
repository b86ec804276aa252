import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, generateSecret, type JWK, SignJWT } from 'jose';
import {
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  type JwtPolicyConfig,
  parseSecurity,
} from '../../config/security.ts';
import { claimHeaders, JwtVerifier, jwtFailure, keyResolver, tokenOf } from './index.ts';

const ALGS: JwtAlgorithm[] = [...JWT_ALGORITHMS];

async function keyFor(alg: JwtAlgorithm, kid: string) {
  if (alg.startsWith('HS')) {
    const secret = await generateSecret(alg, { extractable: true });
    const jwk = { ...(await exportJWK(secret)), kid, alg };
    return { sign: secret, jwk };
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { sign: privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg } as JWK };
}

function policy(over: Record<string, unknown> = {}): JwtPolicyConfig {
  const sec = parseSecurity(
    { jwt: [{ algorithms: ALGS, keys_kv: 'KEYS', keys_prefix: 'jwk:', ...over }] },
    'outpost.toml',
  );
  return sec?.jwt[0] as JwtPolicyConfig;
}

/** A KV namespace in a Map, counting reads. */
function kv(entries: Record<string, JWK> = {}) {
  const data = new Map(Object.entries(entries).map(([k, v]) => [k, JSON.stringify(v)]));
  const store = {
    data,
    reads: 0,
    read: async (_ns: string, key: string) => {
      store.reads++;
      return data.get(key) ?? null;
    },
  };
  return store;
}

const NOW = Date.UTC(2026, 11, 1) / 1000;
const clock = { t: NOW * 1000 };
const now = () => clock.t;

function token(
  sign: Parameters<SignJWT['sign']>[0],
  alg: string,
  kid: string | undefined,
  claims: Record<string, unknown> = {},
) {
  const jwt = new SignJWT({ sub: 'user-1', ...claims })
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setIssuedAt(NOW);
  if (!('exp' in claims)) jwt.setExpirationTime(NOW + 600);
  return jwt.sign(sign);
}

describe('JWT policy', () => {
  it('verifies every algorithm with keys from KV, by kid', async () => {
    assert.equal(ALGS.length, 12, 'RS, PS and HS 256/384/512, ES256/384 and EdDSA');
    for (const alg of ALGS) {
      const k = await keyFor(alg, `k-${alg}`);
      const store = kv({ [`jwk:k-${alg}`]: k.jwk });
      const v = new JwtVerifier(policy(), keyResolver(policy().keys, { kvRead: store.read, now }), now);
      const r = await v.verify(await token(k.sign, alg, `k-${alg}`));
      assert.equal(r.ok, true, `${alg}: ${JSON.stringify(r)}`);
      if (r.ok) assert.equal(r.claims.sub, 'user-1');
    }
  });

  it('names every failure with its reason code', async () => {
    const rs = await keyFor('RS256', 'a');
    const other = await keyFor('RS256', 'a');
    const store = kv({ 'jwk:a': rs.jwk });
    const p = policy({
      issuer: 'https://auth.example',
      audience: ['api'],
      required_claims: ['role'],
      leeway: 5,
    });
    const v = new JwtVerifier(p, keyResolver(p.keys, { kvRead: store.read, now }), now);
    const good = { iss: 'https://auth.example', aud: 'api', role: 'admin' };
    const cases: [string, Promise<string | undefined> | string | undefined, string, number?][] = [
      ['no token', undefined, 'missing_token'],
      ['garbage', 'not-a-token', 'malformed_token'],
      ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0', 'malformed_token'],
      ['bad header JSON', 'bm90IGpzb24.eyJzdWIiOiIxIn0.c2ln', 'malformed_token'],
      ['huge', `${'a'.repeat(20_000)}.b.c`, 'token_too_large'],
      ['alg none', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.', 'unsupported_algorithm'],
      ['unknown kid', token(rs.sign, 'RS256', 'nope', good), 'unknown_key'],
      ['no kid', token(rs.sign, 'RS256', undefined, good), 'unknown_key'],
      ['wrong key', token(other.sign, 'RS256', 'a', good), 'invalid_signature'],
      ['expired', token(rs.sign, 'RS256', 'a', { ...good, exp: NOW - 60 }), 'token_expired'],
      ['not yet valid', token(rs.sign, 'RS256', 'a', { ...good, nbf: NOW + 60 }), 'token_not_yet_valid'],
      ['issuer', token(rs.sign, 'RS256', 'a', { ...good, iss: 'https://evil.example' }), 'invalid_issuer'],
      ['audience', token(rs.sign, 'RS256', 'a', { ...good, aud: 'web' }), 'invalid_audience'],
      ['missing claim', token(rs.sign, 'RS256', 'a', { iss: good.iss, aud: 'api' }), 'missing_claim'],
    ];
    for (const [what, t, reason] of cases) {
      const r = await v.verify(await t);
      assert.equal(r.ok, false, what);
      if (!r.ok) assert.equal(r.reason, reason, `${what}: ${r.message}`);
    }
    // Within the leeway, exp and nbf pass.
    assert.equal((await v.verify(await token(rs.sign, 'RS256', 'a', { ...good, exp: NOW - 3 }))).ok, true);
    assert.equal((await v.verify(await token(rs.sign, 'RS256', 'a', { ...good, nbf: NOW + 3 }))).ok, true);
  });

  it('refuses an HS256 token signed with an RSA public key (algorithm confusion) and algorithms off the list', async () => {
    const rs = await keyFor('RS256', 'a');
    const { jwk } = rs;
    const store = kv({ 'jwk:a': { ...jwk, alg: undefined } as JWK });
    const p = policy({ algorithms: ['RS256', 'HS256'] });
    const v = new JwtVerifier(p, keyResolver(p.keys, { kvRead: store.read, now }), now);
    // The attacker uses the public key's modulus bytes as an HMAC secret.
    const forged = await token(new TextEncoder().encode(JSON.stringify(jwk)), 'HS256', 'a');
    const r = await v.verify(forged);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.reason, 'unknown_key', r.message);
    const es = await keyFor('ES256', 'e');
    store.data.set('jwk:e', JSON.stringify(es.jwk));
    const r2 = await v.verify(await token(es.sign, 'ES256', 'e'));
    assert.equal(r2.ok, false);
    if (!r2.ok) assert.equal(r2.reason, 'unsupported_algorithm');
  });

  it('rotates KV keys: a new kid is read at once, an unknown kid is read again only after the cooldown', async () => {
    const k1 = await keyFor('ES256', 'k1');
    const k2 = await keyFor('ES256', 'k2');
    const store = kv({ 'jwk:k1': k1.jwk });
    const p = policy();
    const v = new JwtVerifier(p, keyResolver(p.keys, { kvRead: store.read, now }), now);
    assert.equal((await v.verify(await token(k1.sign, 'ES256', 'k1'))).ok, true);
    const t2 = await token(k2.sign, 'ES256', 'k2');
    assert.equal((await v.verify(t2)).ok, false, 'k2 not published yet');
    const reads = store.reads;
    for (let i = 0; i < 50; i++) await v.verify(t2);
    assert.equal(store.reads, reads, 'an unknown kid is not read again within the cooldown');
    store.data.set('jwk:k2', JSON.stringify(k2.jwk));
    clock.t += 11_000;
    assert.equal((await v.verify(t2)).ok, true, 'published, read after the cooldown');
    assert.equal(
      (await v.verify(await token(k1.sign, 'ES256', 'k1'))).ok,
      true,
      'the old key still verifies',
    );
    clock.t = NOW * 1000;
  });

  it('JWKS: cached, refreshed on an unknown kid at most once per cooldown, stale when the provider fails', async () => {
    const k1 = await keyFor('RS256', 'k1');
    const k2 = await keyFor('RS256', 'k2');
    let served: JWK[] = [k1.jwk];
    let fetches = 0;
    let down = false;
    const fakeFetch = (async () => {
      fetches++;
      if (down) return new Response('down', { status: 503 });
      return new Response(JSON.stringify({ keys: served }), { status: 200 });
    }) as unknown as typeof fetch;
    const p = policy({
      keys_kv: undefined,
      keys_prefix: undefined,
      jwks_url: 'https://idp.example/jwks',
      jwks_cooldown: 30,
    });
    const v = new JwtVerifier(p, keyResolver(p.keys, { fetch: fakeFetch, now }), now);
    assert.equal((await v.verify(await token(k1.sign, 'RS256', 'k1'))).ok, true);
    assert.equal((await v.verify(await token(k1.sign, 'RS256', 'k1'))).ok, true);
    assert.equal(fetches, 1, 'cached');
    // Rotation: k2 published; a k2 token makes one refresh (the cooldown since the last fetch has passed).
    served = [k1.jwk, k2.jwk];
    clock.t += 31_000;
    const t2 = await token(k2.sign, 'RS256', 'k2', { exp: NOW + 3600 });
    assert.equal((await v.verify(t2)).ok, true);
    assert.equal(fetches, 2);
    // Made-up kids: at most one fetch per cooldown.
    const bogus = await token(k2.sign, 'RS256', 'bogus');
    for (let i = 0; i < 20; i++) assert.equal((await v.verify(bogus)).ok, false);
    assert.equal(fetches, 2, 'within the cooldown, no fetch');
    // The provider goes down after the cache expires: the last set keeps verifying.
    down = true;
    clock.t += 601_000;
    assert.equal((await v.verify(t2)).ok, true, 'stale-if-error');
    assert.equal(fetches, 3);
    clock.t = NOW * 1000;
  });

  it('JWKS unreachable with nothing cached: 503 key_source_unavailable (fails closed)', async () => {
    const k1 = await keyFor('RS256', 'k1');
    const fakeFetch = (async () => {
      throw new Error('connect ECONNREFUSED');
    }) as unknown as typeof fetch;
    const p = policy({ keys_kv: undefined, keys_prefix: undefined, jwks_url: 'https://idp.example/jwks' });
    const v = new JwtVerifier(p, keyResolver(p.keys, { fetch: fakeFetch, now }), now);
    const r = await v.verify(await token(k1.sign, 'RS256', 'k1'));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.reason, 'key_source_unavailable');
      assert.equal(r.status, 503);
      assert.equal(jwtFailure(r, 'x').status, 503);
    }
    // A failing provider is asked again once per cooldown, not once per request.
    let fetches = 0;
    const counting = (async () => {
      fetches++;
      throw new Error('down');
    }) as unknown as typeof fetch;
    const v2 = new JwtVerifier(p, keyResolver(p.keys, { fetch: counting, now }), now);
    const t = await token(k1.sign, 'RS256', 'k1');
    for (let i = 0; i < 20; i++) assert.equal((await v2.verify(t)).ok, false);
    assert.equal(fetches, 1);
    clock.t += 31_000;
    await v2.verify(t);
    assert.equal(fetches, 2, 'again after the cooldown');
    clock.t = NOW * 1000;
  });

  it('finds the token in Authorization or a cookie; forwards claims as clean headers; answers RFC 6750 challenges', () => {
    assert.equal(tokenOf({ cookie: undefined }, 'Bearer abc.def.ghi', undefined), 'abc.def.ghi');
    assert.equal(tokenOf({ cookie: undefined }, 'bearer   abc.def.ghi', undefined), 'abc.def.ghi');
    assert.equal(tokenOf({ cookie: undefined }, 'Basic dXNlcjpwYXNz', undefined), undefined);
    assert.equal(tokenOf({ cookie: 'session' }, 'Bearer x.y.z', 'a=1; session=t.o.k; b=2'), 't.o.k');
    assert.equal(tokenOf({ cookie: 'session' }, undefined, 'sessionx=1'), undefined);
    const p = policy({ forward: { sub: 'X-User-ID', permissions: 'X-User-Permissions', meta: 'X-Meta' } });
    assert.deepEqual(
      claimHeaders(p, { sub: 'u\r\nX-Evil: 1', permissions: ['read', 'write'], meta: { a: 1 } }),
      [
        ['x-user-id', 'uX-Evil: 1'],
        ['x-user-permissions', 'read,write'],
        ['x-meta', '{"a":1}'],
      ],
    );
    const missing = jwtFailure(
      { ok: false, reason: 'missing_token', message: 'm', status: 401 },
      'api.example',
    );
    assert.equal(missing.status, 401);
    assert.deepEqual(
      missing.headers.find(([k]) => k === 'www-authenticate'),
      ['www-authenticate', 'Bearer realm="api.example"'],
    );
    const expired = jwtFailure({ ok: false, reason: 'token_expired', message: 'm', status: 401 }, 'api');
    assert.match(expired.headers.find(([k]) => k === 'www-authenticate')?.[1] ?? '', /error="invalid_token"/);
    assert.deepEqual(JSON.parse(expired.body), {
      error: 'invalid_token',
      reason: 'token_expired',
      message: 'm',
    });
  });

  it('refuses bad policy config, naming the key', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ algorithms: ['none'], keys_kv: 'K' }, /security\.jwt\[0\]\.algorithms/],
      [{ algorithms: ['RS256'] }, /exactly one key source/],
      [{ algorithms: ['RS256'], keys_kv: 'K', jwks_url: 'https://x/' }, /exactly one key source/],
      [{ algorithms: ['RS256'], jwks_url: 'ftp://x/' }, /jwks_url/],
      [{ algorithms: ['RS256'], keys_kv: 'K', forward: { sub: 'Host' } }, /forward\.sub/],
      [{ algorithms: ['RS256'], keys_kv: 'K', forward: { sub: 'bad header' } }, /forward\.sub/],
      [{ algorithms: ['RS256'], keys_kv: 'K', leeway: -1 }, /leeway/],
      [{ algorithms: ['RS256'], keys_kv: 'K', paths: ['api'] }, /paths/],
      [{ algorithms: ['RS256'], keys_kv: 'K', audiences: 'x' }, /security\.jwt\[0\]\.audiences/],
      [{ algorithms: ['RS256'], keys_kv: 'K', jwks_cache: 5 }, /jwks_cache/],
    ];
    for (const [raw, message] of bad)
      assert.throws(() => parseSecurity({ jwt: [raw] }, 'outpost.toml'), message);
    assert.throws(() => parseSecurity({ jwts: [] }, 'outpost.toml'), /security\.jwts/);
  });
});

describe('JWT verdicts remembered', () => {
  it('a token verified once is not verified again, but its exp still applies and a withdrawn key stops it after the key cache time', async () => {
    const k = await keyFor('RS256', 'r');
    const store = kv({ 'jwk:r': k.jwk });
    const p = policy({ keys_cache: 60 });
    let keyCalls = 0;
    const resolver = keyResolver(p.keys, { kvRead: store.read, now });
    const counting = {
      key: (h: Parameters<typeof resolver.key>[0]) => {
        keyCalls++;
        return resolver.key(h);
      },
    };
    const v = new JwtVerifier(p, counting, now);
    const t = await token(k.sign, 'RS256', 'r', { exp: NOW + 100 });
    for (let i = 0; i < 5; i++) assert.equal((await v.verify(t)).ok, true);
    assert.equal(keyCalls, 1, 'verified once');
    // Past exp (+ the 30 s leeway), the remembered verdict no longer holds.
    clock.t = (NOW + 131) * 1000;
    const late = await v.verify(t);
    assert.equal(late.ok, false);
    if (!late.ok) assert.equal(late.reason, 'token_expired');
    // The key is withdrawn: within the key cache time the token still verifies (as with the
    // cached key itself), after it, not.
    clock.t = (NOW + 200) * 1000;
    const t2 = await token(k.sign, 'RS256', 'r', { exp: NOW + 3600 });
    assert.equal((await v.verify(t2)).ok, true);
    store.data.delete('jwk:r');
    clock.t = (NOW + 230) * 1000;
    assert.equal((await v.verify(t2)).ok, true, 'within the key cache time');
    clock.t = (NOW + 261) * 1000;
    const gone = await v.verify(t2);
    assert.equal(gone.ok, false);
    if (!gone.ok) assert.equal(gone.reason, 'unknown_key');
    clock.t = NOW * 1000;
  });
});
