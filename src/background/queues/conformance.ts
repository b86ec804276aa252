/**
 * The QueueStore conformance suite: sqlite-store.test.ts and nats-store.test.ts run it. It
 * checks Cloudflare Queues' delivery semantics (https://developers.cloudflare.com/queues/
 * configuration/batching-retries/): leases are exclusive, delays hold messages back, retries
 * and expired leases deliver again counting attempts, max_retries ends in the dead-letter queue
 * or a drop, order is oldest first, limits are refused, and what was sent survives a reopen.
 *
 * Time: `advance(ms)` moves the store's clock on. The SQLite store has an injected clock, so
 * the suite runs instantly; the NATS store lives in real time (AckWait and nak delays are the
 * server's), so there `advance` sleeps.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { QueueError } from './limits.ts';
import type { QueueStore } from './store.ts';

export interface QueueStoreHarness {
  store: QueueStore;
  /** Close the store and open another on the same data (file or server). */
  reopen(): Promise<QueueStore>;
  /** Let `ms` pass for the store. */
  advance(ms: number): Promise<void>;
  /** The store's clock. */
  now(): number;
  dispose(): Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const msg = (s: string, delaySeconds?: number) => ({ body: enc(s), contentType: 'text', delaySeconds });
const LONG = 60_000;

export function queueStoreConformance(name: string, make: () => Promise<QueueStoreHarness>) {
  const withStore = (fn: (h: QueueStoreHarness, q: string) => Promise<void>) => async () => {
    const h = await make();
    try {
      // Queues persist in a NATS server between tests: each test has its own.
      await fn(h, `q-${randomBytes(4).toString('hex')}`);
    } finally {
      await h.dispose();
    }
  };
  const bodies = (rs: { body: Uint8Array }[]) => rs.map((r) => dec(r.body));

  describe(`QueueStore conformance: ${name}`, () => {
    it(
      'sends, leases with id, body, content type, timestamp and attempts 1, and acks',
      withStore(async (h, q) => {
        const s = h.store;
        const before = h.now();
        await s.send(q, [msg('a'), { body: enc('{"b":1}'), contentType: 'json' }, msg('c')]);
        const got = await s.lease(q, 10, LONG);
        assert.deepEqual(bodies(got), ['a', '{"b":1}', 'c']);
        assert.deepEqual(
          got.map((r) => [r.queue, r.contentType, r.attempts]),
          [
            [q, 'text', 1],
            [q, 'json', 1],
            [q, 'text', 1],
          ],
        );
        for (const r of got) {
          assert.match(r.id, /^[0-9a-f]{32}$/);
          assert.ok(
            r.timestamp >= before - 1000 && r.timestamp <= h.now() + 1000,
            'timestamp is the send time',
          );
        }
        assert.equal(new Set(got.map((r) => r.id)).size, 3, 'ids are unique');
        assert.deepEqual(await s.depth(q), { ready: 0, delayed: 0, leased: 3 });
        assert.deepEqual(await s.lease(q, 10, LONG), [], 'leased messages are in no other batch');
        await s.ack(q, [got[0].id, got[2].id]);
        assert.deepEqual(await s.depth(q), { ready: 0, delayed: 0, leased: 1 });
        await s.ack(q, [got[1].id]);
        assert.deepEqual(await s.depth(q), { ready: 0, delayed: 0, leased: 0 });
        assert.equal(await s.nextReady(q), null, 'an empty queue has no next');
      }),
    );
    it(
      'leases oldest first, up to max; queues are apart',
      withStore(async (h, q) => {
        for (const b of ['1', '2', '3', '4', '5']) await h.store.send(q, [msg(b)]);
        await h.store.send(`${q}-other`, [msg('x')]);
        assert.deepEqual(bodies(await h.store.lease(q, 2, LONG)), ['1', '2']);
        assert.deepEqual(bodies(await h.store.lease(q, 10, LONG)), ['3', '4', '5']);
        assert.deepEqual(bodies(await h.store.lease(`${q}-other`, 10, LONG)), ['x']);
      }),
    );
    it(
      'concurrent leases never return the same message',
      withStore(async (h, q) => {
        const all = Array.from({ length: 60 }, (_, i) => msg(String(i)));
        await h.store.send(q, all.slice(0, 30));
        await h.store.send(q, all.slice(30));
        const batches = await Promise.all(Array.from({ length: 6 }, () => h.store.lease(q, 15, LONG)));
        const ids = batches.flat().map((r) => r.id);
        assert.equal(ids.length, 60, 'every message leased');
        assert.equal(new Set(ids).size, 60, 'none twice');
        assert.deepEqual(await h.store.lease(q, 10, LONG), []);
      }),
    );
    it(
      'a delayed message is not deliverable before its delay; nextReady says when',
      withStore(async (h, q) => {
        const t0 = h.now();
        await h.store.send(q, [msg('later', 2), msg('now')]);
        assert.deepEqual(bodies(await h.store.lease(q, 10, LONG)), ['now']);
        assert.deepEqual(await h.store.depth(q), { ready: 0, delayed: 1, leased: 1 });
        const next = await h.store.nextReady(q);
        assert.ok(
          next !== null && next >= t0 + 2000 - 50 && next <= t0 + 3500,
          `nextReady ${next} ≈ t0 + 2 s`,
        );
        await h.advance(1000);
        assert.deepEqual(await h.store.lease(q, 10, LONG), [], 'not after 1 s of 2');
        await h.advance(1500);
        const got = await h.store.lease(q, 10, LONG);
        assert.deepEqual(
          got.map((r) => [dec(r.body), r.attempts]),
          [['later', 1]],
        );
      }),
    );
    it(
      'retry with a delay delivers again after it, attempts + 1; retry without one at once',
      withStore(async (h, q) => {
        await h.store.send(q, [msg('a'), msg('b')]);
        const [a, b] = await h.store.lease(q, 10, LONG);
        assert.deepEqual(await h.store.retry(q, [a.id], 1, 3), {
          retried: [a.id],
          deadLettered: [],
          dropped: [],
        });
        await h.store.retry(q, [b.id], 0, 3);
        const again = await h.store.lease(q, 10, LONG);
        assert.deepEqual(
          again.map((r) => [r.id, r.attempts]),
          [[b.id, 2]],
          'b at once; a waits',
        );
        assert.deepEqual(await h.store.depth(q), { ready: 0, delayed: 1, leased: 1 });
        await h.advance(1500);
        const later = await h.store.lease(q, 10, LONG);
        assert.deepEqual(
          later.map((r) => [r.id, dec(r.body), r.attempts, r.timestamp]),
          [[a.id, 'a', 2, a.timestamp]],
        );
      }),
    );
    it(
      'past max_retries a message moves to the dead-letter queue with its id, body and timestamp',
      withStore(async (h, q) => {
        const dlq = `${q}-dlq`;
        await h.store.send(q, [msg('poison')]);
        const seen: number[] = [];
        let first: { id: string; timestamp: number } | undefined;
        for (let i = 0; ; i++) {
          assert.ok(i < 10, `still retried after ${i} deliveries`);
          const [m] = await h.store.lease(q, 10, LONG);
          assert.ok(m, 'delivered again');
          first ??= m;
          seen.push(m.attempts);
          const r = await h.store.retry(q, [m.id], 0, 2, dlq);
          if (r.deadLettered.length > 0) {
            assert.deepEqual(r, { retried: [], deadLettered: [m.id], dropped: [] });
            break;
          }
          assert.deepEqual(r.retried, [m.id]);
        }
        assert.deepEqual(seen, [1, 2, 3], 'max_retries 2: three deliveries');
        assert.deepEqual(await h.store.lease(q, 10, LONG), []);
        assert.equal(await h.store.nextReady(q), null);
        const [d] = await h.store.lease(dlq, 10, LONG);
        assert.deepEqual(
          [d.id, dec(d.body), d.timestamp, d.attempts, d.queue],
          [first?.id, 'poison', first?.timestamp, 1, dlq],
        );
      }),
    );
    it(
      'past max_retries without a dead-letter queue a message is dropped',
      withStore(async (h, q) => {
        await h.store.send(q, [msg('x'), msg('y')]);
        const [x, y] = await h.store.lease(q, 10, LONG);
        assert.deepEqual(await h.store.retry(q, [x.id, y.id], 0, 0), {
          retried: [],
          deadLettered: [],
          dropped: [x.id, y.id],
        });
        assert.deepEqual(await h.store.depth(q), { ready: 0, delayed: 0, leased: 0 });
        assert.deepEqual(await h.store.lease(q, 10, LONG), []);
      }),
    );
    it(
      'an expired lease (the consumer crashed) makes the messages deliverable again, attempts + 1',
      withStore(async (h, q) => {
        await h.store.send(q, [msg('a')]);
        const [a] = await h.store.lease(q, 10, 1000);
        assert.deepEqual(await h.store.lease(q, 10, 1000), [], 'not while leased');
        await h.advance(1600);
        assert.deepEqual((await h.store.depth(q)).leased, 0);
        const [again] = await h.store.lease(q, 10, LONG);
        assert.deepEqual([again?.id, again?.attempts], [a.id, 2]);
        await h.store.ack(q, [a.id]);
        assert.deepEqual(await h.store.depth(q), { ready: 0, delayed: 0, leased: 0 });
      }),
    );
    it(
      'refuses what Cloudflare refuses, with its texts, and stores nothing of a refused batch',
      withStore(async (h, q) => {
        const s = h.store;
        const big = { body: new Uint8Array(128_001), contentType: 'bytes' };
        const refused = (p: Promise<unknown>, re: RegExp, code: number) =>
          assert.rejects(p, (e: unknown) => e instanceof QueueError && re.test(e.message) && e.code === code);
        await refused(
          s.send(q, [big], { kind: 'send' }),
          /^Queue send failed: message length of 128001 bytes exceeds limit of 128000$/,
          10204,
        );
        await refused(
          s.send(q, [msg('ok'), big]),
          /^Queue sendBatch failed: message in batch has length 128001 bytes which exceeds single message size limit of 128000$/,
          10204,
        );
        await refused(
          s.send(
            q,
            Array.from({ length: 101 }, () => msg('x')),
          ),
          /^Queue sendBatch failed: batch message count of 101 exceeds limit of 100$/,
          10206,
        );
        const third = { body: new Uint8Array(100_000), contentType: 'bytes' };
        await refused(
          s.send(q, [third, third, third]),
          /^Queue sendBatch failed: batch size of 300000 bytes exceeds limit of 256000$/,
          10205,
        );
        await refused(s.send(q, [msg('x', 86_401)]), /message delay 86401 is invalid/, 10203);
        await refused(s.send(q, [msg('x', 1.5)]), /message delay 1.5 is invalid/, 10203);
        await refused(
          s.send(q, [{ body: enc('x'), contentType: 'xml' }]),
          /content type xml is invalid/,
          10203,
        );
        assert.deepEqual(await s.depth(q), { ready: 0, delayed: 0, leased: 0 });
        // The limits themselves pass.
        await s.send(q, [{ body: new Uint8Array(128_000), contentType: 'bytes' }, msg('x', 86_400)]);
        assert.deepEqual(await s.depth(q), { ready: 1, delayed: 1, leased: 0 });
      }),
    );
    it(
      'what was sent and not acknowledged survives a close and reopen',
      withStore(async (h, q) => {
        await h.store.send(q, [msg('1'), msg('2'), msg('3'), msg('4', 1)]);
        const [one] = await h.store.lease(q, 1, LONG);
        await h.store.ack(q, [one.id]);
        const s = await h.reopen();
        assert.deepEqual(bodies(await s.lease(q, 10, LONG)), ['2', '3']);
        // Due 1 s after it was sent. A server's timers may hand it back a little later under load
        // (CI once saw nothing 1.5 s after): asked again every 250 ms, for at most 6 s.
        await h.advance(1000);
        let later = await s.lease(q, 10, LONG);
        for (let waited = 0; later.length === 0 && waited < 6000; waited += 250) {
          await h.advance(250);
          later = await s.lease(q, 10, LONG);
        }
        assert.deepEqual(bodies(later), ['4']);
      }),
    );
  });
}
