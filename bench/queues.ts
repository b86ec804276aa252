/**
 * Queue messages per second end to end (issue: "Queue messages/s end to end on each backend"):
 * N messages sent in batches of 100 to the SQLite queue store, consumed by a worker's queue()
 * through the consumer loop (lease, deliver into the isolate, ack), against the store alone doing
 * the same send, lease and ack with no worker (the baseline, same run). Both on each backend:
 * SQLite, and JetStream on a nats-server started for the run (skipped, and said so, when
 * nats-server is not installed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deliveredBatch,
  NatsQueueStore,
  QueueConsumerLoop,
  type QueueStore,
  SqliteQueueStore,
} from '../src/background/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { startNatsServer } from '../src/kv/nats-harness.ts';
import { noopObserver } from '../src/observability/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';
import { fmt, median } from './util.ts';

const enc = new TextEncoder();

async function fill(store: QueueStore, n: number, queue = 'bench'): Promise<void> {
  for (let i = 0; i < n; i += 100)
    await store.send(
      queue,
      Array.from({ length: Math.min(100, n - i) }, (_, k) => ({
        body: enc.encode(JSON.stringify({ n: i + k })),
        contentType: 'json',
      })),
    );
}

/** One round on one backend: the store alone, then end to end; msg/s of each. */
async function round(
  runtime: Runtime,
  open: (name: string) => Promise<QueueStore>,
  messages: number,
  tag: string,
): Promise<[number, number]> {
  const a = await open('a');
  const qa = `bench-a-${tag}`;
  let t = performance.now();
  await fill(a, messages, qa);
  for (let got = 0; got < messages; ) {
    const batch = await a.lease(qa, 100, 60_000);
    await a.ack(
      qa,
      batch.map((m) => m.id),
    );
    got += batch.length;
  }
  const bare = messages / ((performance.now() - t) / 1000);
  await a.close();
  const b = await open('b');
  const qb = `bench-b-${tag}`;
  let acked = 0;
  t = performance.now();
  await new Promise<void>((done) => {
    const loop = new QueueConsumerLoop({
      store: b,
      queue: qb,
      config: {
        queue: qb,
        maxBatchSize: 100,
        maxBatchTimeout: 0,
        maxRetries: 3,
        retryDelay: 0,
        maxConcurrency: 1,
      },
      deliver: async (batch) => {
        const r = (await runtime.event('q', 'queue', [deliveredBatch(qb, batch)])) as {
          acks: string[];
          retries: { id: string; delaySeconds: number | undefined }[];
        };
        acked += r.acks.length;
        if (acked >= messages) setImmediate(() => void loop.close().then(done));
        return r;
      },
      log: () => {},
    });
    loop.start();
    void fill(b, messages, qb).then(() => loop.wake());
  });
  const worker = messages / ((performance.now() - t) / 1000);
  await b.close();
  return [bare, worker];
}

export async function queuesBench(opts: { messages: number; rounds: number }) {
  const config = loadConfig(join(import.meta.dirname, 'fixtures', 'queue'), { warn: () => {} });
  const runtime = new Runtime({ observer: noopObserver, poolSize: 1 });
  runtime.deploy('q', await bundleWorker(config, { root: join(import.meta.dirname, '..') }), config);
  await runtime.warm('q');
  const table: string[] = [];
  const ratios: Record<string, number> = {};
  const report = (backend: string, rows: [number, number][]) => {
    const bare = median(rows.map((r) => r[0]));
    const worker = median(rows.map((r) => r[1]));
    table.push(
      `Queues end to end on ${backend} — ${opts.messages} messages, batches of 100, ${opts.rounds} rounds (medians)`,
      `  store alone (send, lease, ack)            ${fmt(bare, 0)} msg/s`,
      `  worker: send, consumer loop, queue(), ack ${fmt(worker, 0)} msg/s   ratio ${fmt(worker / bare)}x`,
    );
    return [bare, worker];
  };
  const sqlite: [number, number][] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-queue-'));
    try {
      sqlite.push(
        await round(
          runtime,
          async (name) => new SqliteQueueStore({ file: join(dir, `${name}.sqlite`) }),
          opts.messages,
          `${r}`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const [, sqliteWorker] = report('SQLite', sqlite);
  ratios.queueEndToEnd = sqliteWorker / median(sqlite.map((x) => x[0]));
  ratios.queueMsgsPerSec = sqliteWorker;
  let nats: Awaited<ReturnType<typeof startNatsServer>> | null = null;
  try {
    nats = await startNatsServer();
  } catch (err) {
    table.push(`Queues on JetStream: not measured (${(err as Error).message})`);
  }
  if (nats) {
    const server = nats;
    try {
      const js: [number, number][] = [];
      for (let r = 0; r < opts.rounds; r++)
        js.push(
          await round(
            runtime,
            () => NatsQueueStore.connect({ servers: server.url }),
            opts.messages,
            `js${r}`,
          ),
        );
      const [bare, worker] = report('JetStream', js);
      ratios.queueJetStreamEndToEnd = worker / bare;
      ratios.queueJetStreamMsgsPerSec = worker;
    } finally {
      await server.stop();
    }
  }
  await runtime.close();
  return { table, ratios };
}
