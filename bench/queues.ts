/**
 * Queue messages per second end to end (issue: "Queue messages/s end to end on each backend"):
 * N messages sent in batches of 100 to the SQLite queue store, consumed by a worker's queue()
 * through the consumer loop (lease, deliver into the isolate, ack), against the store alone doing
 * the same send, lease and ack with no worker (the baseline, same run). The JetStream backend is
 * not wired into the consumer yet, so it is not measured here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliveredBatch, QueueConsumerLoop, SqliteQueueStore } from '../src/background/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';
import { fmt, median } from './util.ts';

const enc = new TextEncoder();

async function fill(store: SqliteQueueStore, n: number): Promise<void> {
  for (let i = 0; i < n; i += 100)
    await store.send(
      'bench',
      Array.from({ length: Math.min(100, n - i) }, (_, k) => ({
        body: enc.encode(JSON.stringify({ n: i + k })),
        contentType: 'json',
      })),
    );
}

export async function queuesBench(opts: { messages: number; rounds: number }) {
  const config = loadConfig(join(import.meta.dirname, 'fixtures', 'queue'), { warn: () => {} });
  const runtime = new Runtime({ observer: noopObserver, poolSize: 1 });
  runtime.deploy('q', await bundleWorker(config, { root: join(import.meta.dirname, '..') }), config);
  await runtime.warm('q');
  const bare: number[] = [];
  const worker: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-queue-'));
    try {
      // Baseline: the store alone.
      const a = new SqliteQueueStore({ file: join(dir, 'a.sqlite') });
      let t = performance.now();
      await fill(a, opts.messages);
      for (let got = 0; got < opts.messages; ) {
        const batch = await a.lease('bench', 100, 60_000);
        await a.ack(
          'bench',
          batch.map((m) => m.id),
        );
        got += batch.length;
      }
      bare.push(opts.messages / ((performance.now() - t) / 1000));
      await a.close();
      // End to end: sends, the consumer loop, the worker's queue(), acks.
      const b = new SqliteQueueStore({ file: join(dir, 'b.sqlite') });
      let acked = 0;
      t = performance.now();
      await new Promise<void>((done) => {
        const loop = new QueueConsumerLoop({
          store: b,
          queue: 'bench',
          config: {
            queue: 'bench',
            maxBatchSize: 100,
            maxBatchTimeout: 0,
            maxRetries: 3,
            retryDelay: 0,
            maxConcurrency: 1,
          },
          deliver: async (messages) => {
            const r = (await runtime.event('q', 'queue', [deliveredBatch('bench', messages)])) as {
              acks: string[];
              retries: { id: string; delaySeconds: number | undefined }[];
            };
            acked += r.acks.length;
            if (acked >= opts.messages) setImmediate(() => void loop.close().then(done));
            return r;
          },
          log: () => {},
        });
        loop.start();
        void fill(b, opts.messages).then(() => loop.wake());
      });
      worker.push(opts.messages / ((performance.now() - t) / 1000));
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await runtime.close();
  return {
    table: [
      `Queues end to end — ${opts.messages} messages, batches of 100, SQLite store, ${opts.rounds} rounds (medians)`,
      `  store alone (send, lease, ack)            ${fmt(median(bare), 0)} msg/s`,
      `  worker: send, consumer loop, queue(), ack ${fmt(median(worker), 0)} msg/s   ratio ${fmt(median(worker) / median(bare))}x`,
    ],
    ratios: { queueEndToEnd: median(worker) / median(bare), queueMsgsPerSec: median(worker) },
  };
}
