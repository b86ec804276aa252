// Rate-limit policies across processes: with NATS (`outpost dev --nats`, `outpost node
// --security`), exact counters live in a JetStream KV bucket (src/security/ratelimit/nats-store.ts)
// and the limit holds over every process together; when NATS cannot be reached, requests go on
// uncounted (failing open), logged once and counted as `error` decisions.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { securityOf } from '../src/cli/node.ts';
import { parseSecurity } from '../src/config/index.ts';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { Policies } from '../src/pop/policies.ts';
import { NatsCounterStore, RateLimiter } from '../src/security/ratelimit/index.ts';
import { startFixture, type TestDev } from './helpers.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

const security = (rateLimit: Record<string, unknown>[]) => {
  const s = parseSecurity({ rate_limit: rateLimit }, 'outpost.toml');
  assert.ok(s);
  return s;
};

it('outpost node --security: the [security] table of a file, or an error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-security-'));
  try {
    const file = join(dir, 'outpost.toml');
    writeFileSync(file, '[[security.rate_limit]]\nname = "api"\nlimit = 5\nperiod = 60\n');
    assert.equal(securityOf(file).rateLimit.length, 1);
    writeFileSync(file, 'origin = "http://127.0.0.1:1"\n');
    assert.throws(() => securityOf(file), /--security .*outpost\.toml: it has no \[security\] table/);
    assert.throws(
      () => securityOf(join(dir, 'missing.toml')),
      /--security .*missing\.toml: cannot read it \(ENOENT\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a sliding window too large to share is refused when the policies load, naming the policy', async () => {
  const shared = { update: async () => Promise.reject(new Error('unused')), close: async () => {} };
  assert.throws(
    () =>
      new Policies(security([{ name: 'big', limit: 100_000, period: 60 }]), {
        limiter: new RateLimiter({ shared }),
      }),
    /security\.rate_limit\[0\] \("big"\): a sliding window shared across processes holds at most 65536 hits per shard, received limit 100000 with 1 shard\(s\); use mode = "fixed", or shards = 2 or more/,
  );
  // Unshared, it is as before.
  assert.ok(new Policies(security([{ name: 'big', limit: 100_000, period: 60 }])));
});

describeNeeding(NATS_SERVER, 'rate-limit policies shared over NATS', () => {
  let nats: NatsServer;
  const devs: TestDev[] = [];
  before(async () => {
    nats = await startNatsServer();
    const s = security([
      { name: 'api', limit: 10, period: 60, key: 'header:x-api-key', paths: ['/api/*'] },
      { name: 'edge', limit: 1, period: 60, mode: 'local', key: 'header:x-edge', paths: ['/local/*'] },
    ]);
    // Two sessions on one NATS, as two machines would be: each its own runtime and connection.
    for (let i = 0; i < 2; i++)
      devs.push(await startFixture('policies', { security: s, kv: { nats: nats.url } }));
  });
  after(async () => {
    for (const d of devs) await d.close();
    await nats?.dispose();
  });

  it('exact counters: 40 concurrent requests over two processes allow exactly the limit', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const r = await fetch(`${devs[i % 2].url}/api/x`, { headers: { 'x-api-key': 'shared' } });
        await r.arrayBuffer();
        return r.status;
      }),
    );
    assert.equal(statuses.filter((s) => s === 200).length, 10);
    assert.equal(statuses.filter((s) => s === 429).length, 30);
    // Another key is counted apart.
    assert.equal((await fetch(`${devs[1].url}/api/x`, { headers: { 'x-api-key': 'other' } })).status, 200);
  });

  it('local counters stay in each process', async () => {
    for (const d of devs) {
      assert.equal((await fetch(`${d.url}/local/x`, { headers: { 'x-edge': 'k' } })).status, 200);
      assert.equal((await fetch(`${d.url}/local/x`, { headers: { 'x-edge': 'k' } })).status, 429);
    }
  });

  it('NATS gone: requests go on uncounted, one warning, `error` decisions', async () => {
    const lone = await startNatsServer();
    const store = await NatsCounterStore.connect(lone.url);
    const observer = memoryObserver();
    const policies = new Policies(security([{ name: 'api', limit: 1, period: 60 }]), {
      limiter: new RateLimiter({ shared: store }),
      observer,
    });
    const request = () => ({
      method: 'GET',
      url: new URL('http://site.example/x'),
      headers: ['cf-connecting-ip', '203.0.113.7'],
      pop: 'FRA',
      worker: 'w',
      scope: undefined,
      kv: null,
      decisions: [] as string[],
    });
    try {
      const first = request();
      assert.equal(await policies.apply(first), null);
      assert.deepEqual(first.decisions, ['rate_limit:api:allow']);
      assert.equal((await policies.apply(request()))?.status, 429);
      await lone.stop();
      for (let i = 0; i < 3; i++) {
        const r = request();
        assert.equal(await policies.apply(r), null, 'let through');
        assert.deepEqual(r.decisions, ['rate_limit:api:error']);
      }
      const warnings = observer.entries.filter((e) => /rate limiting failed open/.test(e.message));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0].message, /NATS at /);
    } finally {
      await store.close();
      await lone.dispose();
    }
  });
});
