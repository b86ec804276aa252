// The consumer loop against a real store: a message whose leases keep running out (its
// consumer's process died each time) is not delivered past max_retries + 1 times: it goes to
// the dead-letter queue like a retried one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueueConsumerLoop } from './consumer.ts';
import { SqliteQueueStore } from './queues/index.ts';

/** The consumer settings every case here uses: batches at once, two retries, one at a time. */
const CONFIG = {
  queue: 'q',
  maxBatchSize: 10,
  maxBatchTimeout: 0,
  maxRetries: 2,
  retryDelay: 0,
  maxConcurrency: 1,
};

describe('QueueConsumerLoop', () => {
  it('dead-letters a message whose leases expired max_retries + 1 times instead of delivering it again', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = new SqliteQueueStore({ file: ':memory:', now: () => now });
    await store.send('q', [{ body: new TextEncoder().encode('"x"'), contentType: 'json' }]);
    // Three leases that nobody acknowledged (max_retries = 2: three deliveries in all).
    for (let i = 0; i < 3; i++) {
      assert.equal((await store.lease('q', 10, 1000)).length, 1);
      now += 1001;
    }
    const delivered: number[] = [];
    const logs: string[] = [];
    const loop = new QueueConsumerLoop({
      store,
      queue: 'q',
      deadLetterQueue: 'dlq',
      config: CONFIG,
      deliver: async (batch) => {
        delivered.push(...batch.map((m) => m.attempts));
        return { acks: batch.map((m) => m.id), retries: [] };
      },
      log: (_level, message) => logs.push(message),
      now: () => now,
    });
    loop.start();
    for (let i = 0; i < 100 && (await store.depth('dlq')).ready === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    await loop.close();
    assert.deepEqual(delivered, []);
    assert.equal((await store.depth('dlq')).ready, 1);
    assert.equal((await store.depth('q')).ready, 0);
    assert.ok(
      logs.some((l) => /moved to/.test(l)),
      logs.join('\n'),
    );
    await store.close();
  });

  it('deletes a message older than the retention period instead of delivering it', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = new SqliteQueueStore({ file: ':memory:', now: () => now });
    await store.send('q', [{ body: new TextEncoder().encode('"old"'), contentType: 'json' }]);
    now += 4 * 86_400_000 + 1;
    await store.send('q', [{ body: new TextEncoder().encode('"new"'), contentType: 'json' }]);
    const delivered: string[] = [];
    const loop = new QueueConsumerLoop({
      store,
      queue: 'q',
      config: CONFIG,
      deliver: async (batch) => {
        delivered.push(...batch.map((m) => new TextDecoder().decode(m.body)));
        return { acks: batch.map((m) => m.id), retries: [] };
      },
      log: () => {},
      now: () => now,
    });
    loop.start();
    for (let i = 0; i < 100 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await loop.close();
    assert.deepEqual(delivered, ['"new"']);
    assert.equal((await store.depth('q')).ready, 0);
    await store.close();
  });

  it('delivers a delayed message that falls due as the loop wakes, though the store’s clock reads behind', async () => {
    // The store reads its clock inside depth(), before the loop reads its own: a message due
    // between the two reads was not ready to the store but due to the loop, which then slept a
    // minute (nothing else wakes it). A store clock 50 ms behind makes that window certain.
    const store = new SqliteQueueStore({ file: ':memory:', now: () => Date.now() - 50 });
    await store.send('q', [
      { body: new TextEncoder().encode('"late"'), contentType: 'json', delaySeconds: 1 },
    ]);
    const t0 = Date.now();
    let at = -1;
    const loop = new QueueConsumerLoop({
      store,
      queue: 'q',
      config: CONFIG,
      deliver: async (batch) => {
        at = Date.now() - t0;
        return { acks: batch.map((m) => m.id), retries: [] };
      },
      log: () => {},
    });
    loop.start();
    for (let i = 0; i < 300 && at < 0; i++) await new Promise((r) => setTimeout(r, 10));
    await loop.close();
    await store.close();
    assert.ok(at >= 0 && at < 2500, `delivered after ${at} ms (-1: not within 3 s)`);
  });
});
