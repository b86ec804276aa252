import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeNeeding, NATS_SERVER } from '../../../test/support/programs.ts';
import { type NatsServer, startNatsServer } from '../../kv/nats-harness.ts';
import { queueStoreConformance } from './conformance.ts';
import { NatsQueueStore } from './nats-store.ts';

// Needs a real nats-server: skipped with one line when it is missing, a failure under CI.
describeNeeding(NATS_SERVER, 'NATS JetStream', () => {
  let server: NatsServer;
  before(async () => {
    server = await startNatsServer();
  });
  after(() => server.dispose());

  // Real time: AckWait and NAK delays are the server's. Each test uses its own queue names.
  queueStoreConformance('NatsQueueStore', async () => {
    const h = {
      store: await NatsQueueStore.connect({ servers: server.url }),
      async reopen() {
        await h.store.close();
        h.store = await NatsQueueStore.connect({ servers: server.url });
        return h.store;
      },
      advance: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
      now: () => Date.now(),
      dispose: () => h.store.close(),
    };
    return h;
  });

  describe('NatsQueueStore between processes', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    it('two stores (two connections) leasing at once never get the same message', async () => {
      const a = await NatsQueueStore.connect({ servers: server.url });
      const b = await NatsQueueStore.connect({ servers: server.url });
      try {
        await a.send(
          'shared',
          Array.from({ length: 100 }, (_, i) => ({ body: enc(String(i)), contentType: 'text' })),
        );
        const got = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).lease('shared', 12, 60_000)),
        );
        const ids = got.flat().map((m) => m.id);
        assert.equal(ids.length, 100);
        assert.equal(new Set(ids).size, 100);
      } finally {
        await a.close();
        await b.close();
      }
    });
    it('a consumer that dies holding a lease: another store gets the messages when the lease ends, attempts 2', async () => {
      const a = await NatsQueueStore.connect({ servers: server.url });
      const b = await NatsQueueStore.connect({ servers: server.url });
      try {
        await a.send('crash', [{ body: enc('job'), contentType: 'text' }]);
        const [m] = await a.lease('crash', 10, 1000);
        await a.close(); // no ack: it crashed
        assert.deepEqual(await b.lease('crash', 10, 1000), []);
        const next = await b.nextReady('crash');
        assert.ok(next !== null && next <= Date.now() + 1000, 'b looks again within a second');
        await new Promise((r) => setTimeout(r, 1200));
        const [again] = await b.lease('crash', 10, 60_000);
        assert.deepEqual([again?.id, again?.attempts], [m.id, 2]);
        await b.ack('crash', [m.id]);
        assert.equal(await b.nextReady('crash'), null);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
