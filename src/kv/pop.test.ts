import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KvPop } from './pop.ts';
import { SqliteKvStore } from './sqlite-store.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const text = (v: { value: Uint8Array } | null) => (v ? new TextDecoder().decode(v.value) : null);

function world(propagationMs = 10_000) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const store = new SqliteKvStore({ file: ':memory:', propagationMs });
  const clock = { now: () => now };
  return {
    fra: new KvPop('FRA', store, clock),
    sin: new KvPop('SIN', store, clock),
    tick: (ms: number) => (now += ms),
    close: () => store.close(),
  };
}

describe('KV at PoPs (eventual consistency)', () => {
  it('write in Frankfurt, read in Singapore before and after the propagation delay', async () => {
    const w = world();
    await w.fra.put('ns', 'k', enc('v1'));
    assert.equal(text(await w.fra.get('ns', 'k')), 'v1', 'read-your-writes at the writing PoP');
    // Singapore has not seen it yet; that absence is cached for cacheTtl (60 s) like a value.
    assert.equal(await w.sin.get('ns', 'k', 30), null);
    w.tick(10_001);
    assert.equal(await w.sin.get('ns', 'k'), null, 'the cached absence holds until its cacheTtl ends');
    w.tick(20_000);
    assert.equal(text(await w.sin.get('ns', 'k')), 'v1');
    await w.close();
  });
  it('an overwrite after a cached read returns the stale value until cacheTtl ends', async () => {
    const w = world(0);
    await w.fra.put('ns', 'k', enc('old'));
    assert.equal(text(await w.sin.get('ns', 'k')), 'old');
    await w.fra.put('ns', 'k', enc('new'));
    w.tick(59_000);
    assert.equal(text(await w.sin.get('ns', 'k')), 'old', 'still within the 60 s cacheTtl');
    w.tick(1_001);
    assert.equal(text(await w.sin.get('ns', 'k')), 'new');
    await w.close();
  });
  it('a hit in the PoP cache makes no central trip; a longer cacheTtl keeps it longer', async () => {
    const w = world(0);
    await w.fra.put('ns', 'k', enc('v'));
    const trace = { centralTrips: 0 };
    await w.sin.get('ns', 'k', 300, trace);
    assert.equal(trace.centralTrips, 1);
    w.tick(200_000);
    assert.equal(text(await w.sin.get('ns', 'k', undefined, trace)), 'v');
    assert.equal(trace.centralTrips, 1);
    await w.sin.list('ns', {}, trace);
    assert.equal(trace.centralTrips, 2, 'a list always asks the central store');
    await w.close();
  });
  it('with latency simulation a central trip is really waited, a PoP-cache hit is not', async () => {
    const store = new SqliteKvStore({ file: ':memory:', propagationMs: 0 });
    const pop = new KvPop('BOM', store, { central: { ms: 60, wait: true } });
    await pop.put('ns', 'k', enc('v'));
    let t = performance.now();
    await pop.get('ns', 'other');
    assert.ok(performance.now() - t >= 55, 'a read that misses the PoP cache waits the trip');
    t = performance.now();
    await pop.get('ns', 'k');
    assert.ok(performance.now() - t < 55, 'a cached read does not');
    store.close();
  });
  it('expired keys disappear from reads, cached or not', async () => {
    const w = world(0);
    await w.fra.put('ns', 'k', enc('v'), { expirationTtl: 60 });
    assert.equal(text(await w.fra.get('ns', 'k')), 'v');
    w.tick(60_000);
    assert.equal(await w.fra.get('ns', 'k'), null);
    await w.close();
  });
  it('a delete is visible at once where it was made', async () => {
    const w = world();
    await w.fra.put('ns', 'k', enc('v'));
    await w.fra.delete('ns', 'k');
    assert.equal(await w.fra.get('ns', 'k'), null);
    await w.close();
  });
});

describe('KV limits and errors (Cloudflare’s texts)', () => {
  const w = world(0);
  const cases: [string, () => Promise<unknown>, number, string][] = [
    ['empty key', () => w.fra.put('ns', '', enc('v')), 400, 'Key names must not be empty'],
    ['"." as a key', () => w.fra.get('ns', '.'), 400, 'Illegal key name ".". Please use a different name.'],
    [
      'a 513-byte key',
      () => w.fra.get('ns', 'k'.repeat(513)),
      414,
      'UTF-8 encoded length of 513 exceeds key length limit of 512.',
    ],
    [
      'a value over 25 MiB',
      () => w.fra.put('ns', 'k', new Uint8Array(25 * 1024 * 1024 + 1)),
      413,
      'Value length of 26214401 exceeds limit of 26214400.',
    ],
    [
      'metadata over 1024 bytes',
      () => w.fra.put('ns', 'k', enc('v'), { metadata: JSON.stringify('x'.repeat(1023)) }),
      413,
      'Metadata length of 1025 exceeds limit of 1024.',
    ],
    [
      'expirationTtl under 60',
      () => w.fra.put('ns', 'k', enc('v'), { expirationTtl: 59 }),
      400,
      'Invalid expiration_ttl of 59. Expiration TTL must be at least 60.',
    ],
    [
      'expirationTtl 0',
      () => w.fra.put('ns', 'k', enc('v'), { expirationTtl: 0 }),
      400,
      'Invalid expiration_ttl of 0. Please specify integer greater than 0.',
    ],
    [
      'expiration in the past',
      () => w.fra.put('ns', 'k', enc('v'), { expiration: 1 }),
      400,
      'Invalid expiration of 1. Please specify integer greater than the current number of seconds since the UNIX epoch.',
    ],
    [
      'cacheTtl under 30',
      () => w.fra.get('ns', 'k', 10),
      400,
      'Invalid cache_ttl of 10. Cache TTL must be at least 30.',
    ],
    [
      'list limit 0',
      () => w.fra.list('ns', { limit: 0 }),
      400,
      'Invalid key_count_limit of 0. Please specify an integer greater than 0.',
    ],
    [
      'list limit 1001',
      () => w.fra.list('ns', { limit: 1001 }),
      400,
      'Invalid key_count_limit of 1001. Please specify an integer less than 1000.',
    ],
    [
      'bulk get of 101 keys',
      () =>
        w.fra.getMany(
          'ns',
          Array.from({ length: 101 }, (_, i) => `k${i}`),
        ),
      400,
      'You can request a maximum of 100 keys',
    ],
  ];
  for (const [name, call, status, message] of cases)
    it(name, async () => {
      await assert.rejects(call(), (e: Error & { status?: number }) => {
        assert.equal(e.message, message);
        assert.equal(e.status, status);
        return true;
      });
    });
});
