// The Workers Rate Limiting binding end to end: a worker calls env.LIMITER.limit({ key }) and
// gets { success }, false once the key has used the limit in the period; keys, namespaces and
// accounts are apart, two workers of one account binding one namespace_id share counters, and
// bad arguments give TypeErrors naming what was wrong. The clock is the test's (the binding's
// windows are aligned to the period, as Cloudflare's).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';
import { RateLimiter } from '../src/security/ratelimit/index.ts';
import { FIXTURES, startFixture, type TestDev } from './helpers.ts';

/** A multiple of the binding's period (10 s), so a test knows where windows end. */
const WINDOW = 1_800_000_000_000;
const clock = { t: WINDOW + 1 };
const limiter = new RateLimiter({ now: () => clock.t });

let rt: Runtime;
const text = (r: { body: unknown }) => new TextDecoder().decode(r.body as Uint8Array);
const call = async (tenant: string, path: string) =>
  text(
    await rt.handle(tenant, {
      method: 'GET',
      url: `http://t.example${path}`,
      headers: [],
      cf: {},
      body: null,
    }),
  );
const limit = async (tenant: string, query: string) =>
  JSON.parse(await call(tenant, `/limit?${query}`)) as boolean[];

before(async () => {
  rt = new Runtime({ poolSize: 1, limits: { cpuMs: 1000 }, rateLimiter: limiter });
  const config = loadConfig(join(FIXTURES, 'ratelimit'), { warn: () => {} });
  const bundle = await bundleWorker(config);
  rt.deploy('shop', bundle, config);
  // Another worker of the same (default) account binding the same namespace_id.
  rt.deploy('shop-admin', bundle, config);
  // The same config in two other accounts.
  rt.deploy('tenant-b', bundle, config, {}, { account: 'acct-b' });
  rt.deploy('tenant-c', bundle, config, {}, { account: 'acct-c' });
});
after(async () => {
  await rt?.close();
});

describe('env.LIMITER.limit({ key })', () => {
  it('answers { success: true } until the key has used the limit, then false until the period ends', async () => {
    clock.t = WINDOW + 1;
    assert.deepEqual(await limit('shop', 'key=user-1&n=2'), [true, true]);
    assert.deepEqual(await limit('shop', 'key=user-1'), [true]);
    assert.deepEqual(await limit('shop', 'key=user-1&n=2'), [false, false]);
    clock.t = WINDOW + 9_999;
    assert.deepEqual(await limit('shop', 'key=user-1'), [false]);
    clock.t = WINDOW + 10_000; // the next window
    assert.deepEqual(await limit('shop', 'key=user-1&n=4'), [true, true, true, false]);
  });

  it('counts calls made at once exactly: of 20 concurrent calls, 3 succeed', async () => {
    clock.t = WINDOW + 20_000;
    const outcomes = await limit('shop', 'key=burst&n=20');
    assert.equal(outcomes.filter(Boolean).length, 3);
    assert.deepEqual(outcomes.slice(0, 3), [true, true, true]);
  });

  it('keeps keys apart, and bindings of different namespace_ids apart', async () => {
    clock.t = WINDOW + 30_000;
    assert.deepEqual(await limit('shop', 'key=a&n=4'), [true, true, true, false]);
    assert.deepEqual(await limit('shop', 'key=b&n=4'), [true, true, true, false]);
    assert.deepEqual(await limit('shop', 'key=a&n=2&binding=OTHER'), [true, true]);
  });

  it('shares counters between workers of one account binding the same namespace_id', async () => {
    clock.t = WINDOW + 40_000;
    assert.deepEqual(await limit('shop', 'key=shared&n=2'), [true, true]);
    assert.deepEqual(await limit('shop-admin', 'key=shared&n=2'), [true, false]);
    assert.deepEqual(await limit('shop', 'key=shared'), [false]);
  });

  it("never shares another account's counters, even for the same namespace_id and key", async () => {
    clock.t = WINDOW + 50_000;
    assert.deepEqual(await limit('shop', 'key=victim&n=4'), [true, true, true, false]);
    // Another account neither sees the victim's count nor uses it up.
    assert.deepEqual(await limit('tenant-b', 'key=victim&n=3'), [true, true, true]);
    assert.deepEqual(await limit('tenant-c', 'key=victim&n=3'), [true, true, true]);
    assert.deepEqual(await limit('tenant-b', 'key=victim'), [false]);
    assert.deepEqual(await limit('shop-admin', 'key=victim'), [false]);
  });

  it('resolves to a plain { success } object on a RateLimit', async () => {
    assert.deepEqual(JSON.parse(await call('shop', '/shape')), {
      tag: '[object RateLimit]',
      keys: ['success'],
      type: 'boolean',
    });
  });

  it('refuses a bad argument with a TypeError naming what was wrong', async () => {
    const bad = async (arg: string | null) =>
      call('shop', arg === null ? '/bad' : `/bad?arg=${encodeURIComponent(arg)}`);
    assert.equal(
      await bad(null),
      'TypeError: RateLimit.limit(): expected an options object { key: string }, received undefined',
    );
    assert.equal(
      await bad('"user-1"'),
      'TypeError: RateLimit.limit(): expected an options object { key: string }, received string',
    );
    assert.equal(
      await bad('{}'),
      'TypeError: RateLimit.limit(): options.key must be a string, received undefined',
    );
    assert.equal(
      await bad('{"key":42}'),
      'TypeError: RateLimit.limit(): options.key must be a string, received number',
    );
    assert.equal(
      await bad('{"key":null}'),
      'TypeError: RateLimit.limit(): options.key must be a string, received null',
    );
    assert.equal(
      await call('shop', '/bad?long=65537'),
      'TypeError: RateLimit.limit(): options.key must be at most 65536 characters long',
    );
    assert.match(await call('shop', '/bad?long=65536'), /^no error/);
    // The empty string is a key like any other.
    assert.match(await bad('{"key":""}'), /^no error: \{"success":(true|false)\}$/);
  });
});

describe('under outpost dev', () => {
  let dev: TestDev;
  const devClock = { t: WINDOW + 5_000 };
  before(async () => {
    dev = await startFixture('ratelimit', {
      runtime: { poolSize: 1, rateLimiter: new RateLimiter({ now: () => devClock.t }) },
    });
  });
  after(async () => {
    await dev?.close();
  });

  it('reads [[ratelimits]] from wrangler.toml and limits per key', async () => {
    const limitDev = async (query: string) => (await fetch(`${dev.url}/limit?${query}`)).json();
    assert.deepEqual(await limitDev('key=dev&n=2'), [true, true]);
    assert.deepEqual(await limitDev('key=dev&n=2'), [true, false]);
    assert.deepEqual(await limitDev('key=dev-2&n=4'), [true, true, true, false]);
    devClock.t += 5_000;
    assert.deepEqual(await limitDev('key=dev&n=4'), [true, true, true, false]);
  });
});
