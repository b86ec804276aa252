import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { describeNeeding, NATS_SERVER } from '../../test/support/programs.ts';
import { kvStoreConformance } from './conformance.ts';
import { type NatsServer, startNatsServer } from './nats-harness.ts';
import { NatsKvStore } from './nats-store.ts';
import { KvPop } from './pop.ts';

// Needs a real nats-server: skipped with one line when it is missing, a failure under CI.
describeNeeding(NATS_SERVER, 'NATS JetStream', () => {
  let server: NatsServer;
  let n = 0;
  before(async () => {
    server = await startNatsServer();
  });
  after(() => server.dispose());

  // Each run of the suite gets fresh namespaces (buckets persist in the server).
  kvStoreConformance('NatsKvStore', async () => {
    const store = await NatsKvStore.connect({ servers: server.url, pop: 'A' });
    const prefix = `t${++n}_`;
    const wrapped = {
      read: (ns: string, ...r: [string, string, number]) => store.read(prefix + ns, ...r),
      write: (ns: string, ...r: Parameters<NatsKvStore['write']> extends [string, ...infer R] ? R : never) =>
        store.write(prefix + ns, ...r),
      list: (ns: string, ...r: Parameters<NatsKvStore['list']> extends [string, ...infer R] ? R : never) =>
        store.list(prefix + ns, ...r),
      inspect: (
        ns: string,
        ...r: Parameters<NatsKvStore['inspect']> extends [string, ...infer R] ? R : never
      ) => store.inspect(prefix + ns, ...r),
      close: () => store.close(),
    };
    return { store: wrapped, dispose: () => store.close() };
  });

  const enc = (s: string) => new TextEncoder().encode(s);
  const text = (v: { value: Uint8Array } | null) => (v ? new TextDecoder().decode(v.value) : null);

  async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  describe('KV over NATS between PoPs', () => {
    it('a write in Frankfurt reaches Singapore through the bucket; read-your-writes in Frankfurt', async () => {
      const fraStore = await NatsKvStore.connect({ servers: server.url, pop: 'FRA' });
      const sinStore = await NatsKvStore.connect({ servers: server.url, pop: 'SIN' });
      const fra = new KvPop('FRA', fraStore);
      const sin = new KvPop('SIN', sinStore, { cacheTtl: 30 });
      try {
        await sin.list('geo', {}); // SIN starts watching the namespace
        await fra.put('geo', 'k', enc('v1'), { metadata: '{"from":"FRA"}' });
        assert.equal(text(await fra.get('geo', 'k')), 'v1');
        await until(async () => (await sinStore.read('geo', 'k', 'SIN', Date.now())) !== null);
        assert.equal(text(await sin.get('geo', 'k')), 'v1');
      } finally {
        await fraStore.close();
        await sinStore.close();
      }
    });
    it('an overwrite after a cached read stays stale at that PoP until cacheTtl ends, though its replica has the new value', async () => {
      let now = Date.now();
      const clock = () => now;
      const fraStore = await NatsKvStore.connect({ servers: server.url, pop: 'FRA' });
      const sinStore = await NatsKvStore.connect({ servers: server.url, pop: 'SIN' });
      const fra = new KvPop('FRA', fraStore, { now: clock });
      const sin = new KvPop('SIN', sinStore, { now: clock });
      try {
        await fra.put('stale', 'doc', enc('old'));
        await until(async () => (await sinStore.read('stale', 'doc', 'SIN', Date.now())) !== null);
        assert.equal(text(await sin.get('stale', 'doc')), 'old');
        await fra.put('stale', 'doc', enc('new'));
        assert.equal(text(await fra.get('stale', 'doc')), 'new', 'read-your-writes in Frankfurt');
        await until(async () => text(await sinStore.read('stale', 'doc', 'SIN', Date.now())) === 'new');
        now += 59_000;
        assert.equal(
          text(await sin.get('stale', 'doc')),
          'old',
          'Singapore’s cached copy, 59 s into its 60 s cacheTtl',
        );
        now += 1_001;
        assert.equal(text(await sin.get('stale', 'doc')), 'new');
      } finally {
        await fraStore.close();
        await sinStore.close();
      }
    });
    it('with nats-server down: reads keep working from the local replica, writes fail clearly; all converges after restart', async () => {
      const aStore = await NatsKvStore.connect({ servers: server.url, pop: 'A' });
      const bStore = await NatsKvStore.connect({ servers: server.url, pop: 'B' });
      const a = new KvPop('A', aStore);
      try {
        await bStore.list('outage', { prefix: '', limit: 10, cursor: null }, 'B', Date.now());
        await a.put('outage', 'before', enc('kept'));
        await until(async () => (await bStore.read('outage', 'before', 'B', Date.now())) !== null);
        await server.stop();
        await until(async () => {
          try {
            await aStore.write(
              'outage',
              'probe',
              { value: enc('x'), metadata: null, expiration: null },
              'A',
              Date.now(),
            );
            return false;
          } catch {
            return true;
          }
        });
        assert.equal(text(await bStore.read('outage', 'before', 'B', Date.now())), 'kept');
        await assert.rejects(
          a.put('outage', 'during', enc('lost?')),
          /KV is unreachable \(NATS at nats:\/\/127\.0\.0\.1:\d+ is disconnected\); the write was not made\./,
        );
        await server.restart();
        await until(async () => {
          try {
            await a.put('outage', 'after', enc('back'));
            return true;
          } catch {
            return false;
          }
        }, 15_000);
        await until(async () => (await bStore.read('outage', 'after', 'B', Date.now())) !== null, 15_000);
        assert.equal(
          await bStore.read('outage', 'during', 'B', Date.now()),
          null,
          'the refused write was not applied later',
        );
      } finally {
        await aStore.close();
        await bStore.close();
      }
    });
    it('with nats-server frozen (SIGSTOP): a write that gets no acknowledgement says its outcome is unknown, and is applied once the server resumes', async () => {
      const aStore = await NatsKvStore.connect({ servers: server.url, pop: 'A', timeoutMs: 500 });
      const bStore = await NatsKvStore.connect({ servers: server.url, pop: 'B' });
      const a = new KvPop('A', aStore);
      try {
        await bStore.list('frozen', { prefix: '', limit: 10, cursor: null }, 'B', Date.now());
        await a.put('frozen', 'before', enc('kept'));
        await server.freeze();
        let message = '';
        let status = 0;
        try {
          await a.put('frozen', 'during', enc('sent'));
        } catch (err) {
          message = (err as Error).message;
          status = (err as { status: number }).status;
        }
        assert.equal(status, 504);
        assert.match(
          message,
          /^KV write sent to NATS at nats:\/\/127\.0\.0\.1:\d+ but not acknowledged \(.+ after 500 ms\); the outcome is unknown: it may still be applied\. Read the key to see which, or repeat the write/,
        );
        assert.doesNotMatch(message, /not made/);
        assert.equal(text(await a.get('frozen', 'before')), 'kept', 'reads still answer from the replica');
        server.thaw();
        await until(async () => (await bStore.read('frozen', 'during', 'B', Date.now())) !== null, 10_000);
        assert.equal(
          text(await bStore.read('frozen', 'during', 'B', Date.now())),
          'sent',
          'applied after all',
        );
        await a.delete('frozen', 'during');
        assert.equal(await a.get('frozen', 'during'), null, 'and the store works on');
      } finally {
        server.thaw();
        await aStore.close();
        await bStore.close();
      }
    });
  });

  describe('namespace quota over NATS', () => {
    it("refuses a put past the quota on the writer's replica, counts other processes' writes, and makes the bucket with a max_bytes backstop", async () => {
      const w = (v: string | null) => ({
        value: v === null ? null : enc(v),
        metadata: null,
        expiration: null,
      });
      const aStore = await NatsKvStore.connect({ servers: server.url, pop: 'A', namespaceQuotaBytes: 100 });
      const bStore = await NatsKvStore.connect({ servers: server.url, pop: 'B', namespaceQuotaBytes: 100 });
      try {
        await bStore.list('quota', { prefix: '', limit: 10, cursor: null }, 'B', Date.now());
        await aStore.write('quota', 'k1', w('x'.repeat(60)), 'A', Date.now()); // 62 bytes
        await assert.rejects(
          aStore.write('quota', 'k2', w('y'.repeat(40)), 'A', Date.now()),
          /413|KV namespace "quota" is over its storage quota of 100 bytes: this write adds 42 bytes to the 62 stored; the write was not made/,
        );
        // B learns of A's write through its watch, and its own put is refused too.
        await until(async () => (await bStore.read('quota', 'k1', 'B', Date.now())) !== null);
        await assert.rejects(
          bStore.write('quota', 'k3', w('z'.repeat(40)), 'B', Date.now()),
          /storage quota/,
        );
        assert.equal(await aStore.read('quota', 'k2', 'A', Date.now()), null);
        // A delete makes room; another namespace is not affected.
        await aStore.write('quota', 'k1', w(null), 'A', Date.now());
        await aStore.write('quota', 'k2', w('y'.repeat(40)), 'A', Date.now());
        await aStore.write('quota_other', 'k', w('z'.repeat(90)), 'A', Date.now());
        const nc = await connect({ servers: server.url });
        try {
          const st = await new Kvm(nc).open('outpost_kv_quota').then((kv) => kv.status());
          assert.equal(st.max_bytes, 2 * 100 + 1024 * 1024);
        } finally {
          await nc.close();
        }
      } finally {
        await aStore.close();
        await bStore.close();
      }
    });
  });
});
