// Queues: producers send (json, text, bytes; delays; Cloudflare's limits), the consumer gets
// batches by size and timeout, acknowledges or retries per message, a throwing handler retries
// its batch, messages past max_retries go to the dead-letter queue, and what was sent survives
// a restart of outpost dev.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

type Seen = Record<string, { value: unknown; attempts: number; size: number; queue: string }>;

async function until(dev: TestDev, pred: (s: Seen) => boolean, ms = 8000): Promise<Seen> {
  const end = Date.now() + ms;
  for (;;) {
    const seen = (await (await fetch(`${dev.url}/seen`)).json()) as Seen;
    if (pred(seen)) return seen;
    if (Date.now() > end) throw new Error(`not seen in time: ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const send = (dev: TestDev, body: unknown, extra: Record<string, unknown> = {}) =>
  fetch(`${dev.url}/send`, { method: 'POST', body: JSON.stringify({ body, ...extra }) }).then((r) =>
    r.text(),
  );

describe('Queues on outpost dev', () => {
  let dev: TestDev;
  let fixture: ReturnType<typeof copyFixture>;
  before(async () => {
    fixture = copyFixture('queues');
    dev = await startFixture(fixture.dir);
  });
  after(async () => {
    await dev.close();
    fixture.cleanup();
  });

  it('a full batch goes out at once; json, text and bytes bodies arrive as sent', async () => {
    const res = await fetch(`${dev.url}/batch`, {
      method: 'POST',
      body: JSON.stringify([{ tag: 'a' }, { tag: 'b' }, { tag: 'c' }, { tag: 'd' }]),
    });
    assert.equal(await res.text(), 'sent');
    const seen = await until(dev, (s) => ['a', 'b', 'c', 'd'].every((t) => s[`jobs:${t}:1`]));
    assert.equal(seen['jobs:a:1'].size, 4);
    assert.deepEqual(seen['jobs:b:1'].value, { tag: 'b' });
    await send(dev, 'hello', { contentType: 'text' });
    await send(dev, [1, 2, 3], { contentType: 'json' });
    // Both arrive, in one batch or two (each waits at most the batch timeout).
    await until(
      dev,
      (s) =>
        Object.values(s).some((v) => v.value === 'text:hello') &&
        Object.values(s).some((v) => JSON.stringify(v.value) === '[1,2,3]'),
    );
  });

  it('fewer than a batch wait max_batch_timeout, then go', async () => {
    const started = Date.now();
    await send(dev, { tag: 'late' });
    await until(dev, (s) => !!s['jobs:late:1']);
    assert.ok(Date.now() - started >= 900, `delivered after ${Date.now() - started} ms`);
  });

  it('retry() redelivers with attempts + 1; past max_retries the message goes to the dead-letter queue', async () => {
    await send(dev, { tag: 'retry' });
    const seen = await until(dev, (s) => !!s['jobs-dlq:retry:1']);
    // max_retries = 2: delivered 3 times on "jobs", then once on "jobs-dlq".
    assert.deepEqual(
      [1, 2, 3].map((n) => seen[`jobs:retry:${n}`]?.attempts),
      [1, 2, 3],
    );
    assert.equal(seen['jobs:retry:4'], undefined);
    assert.equal(seen['jobs-dlq:retry:1'].queue, 'jobs-dlq');
  });

  it('a handler that throws has its unacknowledged messages retried', async () => {
    await send(dev, { tag: 'throw' });
    const seen = await until(dev, (s) => !!s['jobs:throw:2']);
    assert.equal(seen['jobs:throw:2'].attempts, 2);
    assert.ok(
      dev.logs.some((l) =>
        /queue\(\) failed on a batch of 1: Error: queue handler failed on purpose/.test(l.message),
      ),
    );
  });

  it("Cloudflare's limits: a message over 128 KB is refused, naming the limit", async () => {
    const res = await fetch(`${dev.url}/big`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /TypeError: Queue send: message too large \(204800 bytes, limit 128 KB\)/);
  });
});

describe('Queues across a restart', () => {
  it('a message sent with a delay and not yet consumed is delivered by the next outpost dev', async () => {
    const fixture = copyFixture('queues');
    try {
      const first = await startFixture(fixture.dir);
      await send(first, { tag: 'survivor' }, { delaySeconds: 1 });
      await first.close();
      const second = await startFixture(fixture.dir);
      try {
        const seen = await until(second, (s) => !!s['jobs:survivor:1']);
        assert.deepEqual(seen['jobs:survivor:1'].value, { tag: 'survivor' });
      } finally {
        await second.close();
      }
    } finally {
      fixture.cleanup();
    }
  });
});

describeNeeding(NATS_SERVER, 'Queues on NATS JetStream (outpost dev --nats)', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNatsServer();
  });
  after(() => nats?.dispose());

  it('producers and consumers work the same with the JetStream store, dead letters included', async () => {
    const fixture = copyFixture('queues');
    const dev = await startFixture(fixture.dir, { kv: { nats: nats.url } });
    try {
      await fetch(`${dev.url}/batch`, {
        method: 'POST',
        body: JSON.stringify([{ tag: 'n1' }, { tag: 'n2' }, { tag: 'n3' }, { tag: 'n4' }]),
      });
      const seen = await until(dev, (s) => ['n1', 'n2', 'n3', 'n4'].every((t) => s[`jobs:${t}:1`]));
      assert.equal(seen['jobs:n1:1'].size, 4);
      await send(dev, { tag: 'retry' });
      const dead = await until(dev, (s) => !!s['jobs-dlq:retry:1'], 15000);
      assert.deepEqual(
        [1, 2, 3].map((n) => dead[`jobs:retry:${n}`]?.attempts),
        [1, 2, 3],
      );
    } finally {
      await dev.close();
      fixture.cleanup();
    }
  });

  it('two outpost dev sessions consuming one queue: every message is delivered once between them', async () => {
    const dirs = [0, 1].map(() => {
      const dir = mkdtempSync(join(tmpdir(), 'outpost-queue-pair-'));
      writeFileSync(
        join(dir, 'wrangler.toml'),
        'name = "pair"\nmain = "w.js"\ncompatibility_date = "2025-01-01"\n[[queues.producers]]\nbinding = "Q"\nqueue = "pair"\n[[queues.consumers]]\nqueue = "pair"\nmax_batch_size = 5\nmax_batch_timeout = 0\n',
      );
      writeFileSync(
        join(dir, 'w.js'),
        `export default {
          async fetch(request, env) {
            const n = Number(new URL(request.url).searchParams.get('n'));
            await env.Q.sendBatch(Array.from({ length: n }, (_, i) => ({ body: i })));
            return new Response('sent');
          },
          async queue(batch) {
            for (const m of batch.messages) console.log('got', m.body, m.attempts);
          },
        };`,
      );
      return dir;
    });
    const devs = await Promise.all(dirs.map((d) => startFixture(d, { kv: { nats: nats.url } })));
    const got = () =>
      devs.flatMap((d) => d.logs.map((l) => /^got (\d+) (\d+)$/.exec(l.message)).filter((m) => m !== null));
    try {
      for (let i = 0; i < 4; i++)
        assert.equal(await (await fetch(`${devs[i % 2].url}/?n=25`)).text(), 'sent');
      for (let i = 0; i < 400 && got().length < 100; i++) await new Promise((r) => setTimeout(r, 25));
      await new Promise((r) => setTimeout(r, 300));
      const seen = got();
      assert.equal(seen.length, 100, `${seen.length} deliveries`);
      assert.ok(
        seen.every((m) => m?.[2] === '1'),
        'no message was delivered twice',
      );
      const bodies = seen.map((m) => Number(m?.[1])).sort((a, b) => a - b);
      assert.deepEqual(
        bodies,
        [...Array.from({ length: 25 }, (_, i) => [i, i, i, i])].flat().sort((a, b) => a - b),
      );
      // Both sessions consumed (a shared durable consumer hands batches to whichever pulls).
      assert.ok(
        devs.every((d) => d.logs.some((l) => l.message.startsWith('got '))),
        'both consumed',
      );
    } finally {
      await Promise.all(devs.map((d) => d.close()));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
