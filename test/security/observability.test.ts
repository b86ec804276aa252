// Attacks on what tracing and tail add: a client's trace headers, the tail endpoint, and a
// tail_consumers entry naming another account's worker.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startFixture, type TestDev } from '../helpers.ts';
import { type Receiver, startReceiver } from '../otlp/receiver.ts';

describe("a client's trace headers", () => {
  let dev: TestDev;
  let receiver: Receiver;
  let origin: Server;
  let originUrl: string;
  const got: { traceparent?: string; tracestate?: string }[] = [];
  before(async () => {
    receiver = await startReceiver();
    origin = createServer((req, res) => {
      got.push({
        traceparent: req.headers.traceparent as string,
        tracestate: req.headers.tracestate as string,
      });
      res.end('ok');
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    dev = await startFixture('tracing', { tracing: { endpoint: receiver.url, sampleRatio: 1, flushMs: 50 } });
  });
  after(async () => {
    await dev.close();
    await receiver.close();
    await new Promise<void>((r) => origin.close(() => r()));
  });

  it('malformed, oversized and injected values are not continued or passed on', async () => {
    const hostile = [
      '00-' + 'a'.repeat(32) + '-' + 'b'.repeat(16) + '-01\r\nx-injected: 1',
      'ff-' + 'a'.repeat(32) + '-' + 'b'.repeat(16) + '-01',
      '00-' + '0'.repeat(32) + '-' + 'b'.repeat(16) + '-01',
      `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-${'x'.repeat(100_000)}`,
      '00-ZZZZ',
    ];
    for (const tp of hostile) {
      let res: Response;
      try {
        res = await fetch(`${dev.url}/fetch?u=${encodeURIComponent(originUrl)}`, {
          headers: { traceparent: tp.replace(/[\r\n]/g, ' '), tracestate: `k=${'v'.repeat(600)}` },
        });
      } catch {
        continue; // refused by the HTTP parser: fine
      }
      assert.ok(res.status === 200 || res.status === 431, `${res.status} for ${tp.slice(0, 40)}`);
      await res.text();
    }
    // What reached the origin: the platform's own traceparents, never the client's, no tracestate.
    for (const g of got) {
      assert.match(g.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      assert.ok(!g.traceparent?.startsWith(`00-${'a'.repeat(32)}`), 'a malformed parent was continued');
      assert.equal(g.tracestate, undefined, 'an oversized tracestate was passed on');
    }
    assert.ok(got.length >= 3);
  });

  it('a duplicated traceparent header is not taken as one of them', async () => {
    const res = await fetch(`${dev.url}/fetch?u=${encodeURIComponent(originUrl)}`, {
      headers: [
        ['traceparent', `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`],
        ['traceparent', `00-${'e'.repeat(32)}-${'f'.repeat(16)}-01`],
      ],
    });
    await res.text();
    const last = got[got.length - 1];
    assert.ok(!last.traceparent?.includes('c'.repeat(32)) && !last.traceparent?.includes('e'.repeat(32)));
  });
});

describe('the tail endpoint', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('tail-producer');
  });
  after(() => dev.close());

  it('needs the admin token', async () => {
    assert.equal((await fetch(`${dev.url}/__outpost/tail`)).status, 401);
    const wrong = await fetch(`${dev.url}/__outpost/tail`, {
      headers: { authorization: 'Bearer not-the-token-at-all' },
    });
    assert.equal(wrong.status, 401);
  });

  it('at most 32 sessions at once', async () => {
    const controllers = Array.from({ length: 33 }, () => new AbortController());
    const opened: Response[] = [];
    try {
      for (const c of controllers)
        opened.push(
          await fetch(`${dev.url}/__outpost/tail`, {
            headers: { authorization: `Bearer ${dev.adminToken}` },
            signal: c.signal,
          }),
        );
      assert.deepEqual(
        opened.map((r) => r.status),
        [...Array(32).fill(200), 429],
      );
    } finally {
      for (const c of controllers) c.abort();
    }
  });
});

describe('tail_consumers naming another account’s worker', () => {
  it('gets no events, and says why', async () => {
    const producer = copyFixture('tail-producer');
    const consumer = copyFixture('tail-consumer');
    let sinkHits = 0;
    const sink = createServer((req, res) => {
      sinkHits++;
      req.resume();
      res.end();
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const toml = join(consumer.dir, 'wrangler.toml');
    writeFileSync(
      toml,
      `account_id = "other-account"\n${readFileSync(toml, 'utf8').replace('SINK = ""', `SINK = "http://127.0.0.1:${(sink.address() as AddressInfo).port}/"`)}`,
    );
    const dev = await startFixture(producer.dir, { services: [consumer.dir] });
    try {
      await (await fetch(`${dev.url}/?n=1`)).text();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sinkHits, 0, "another account's worker got the producer's events");
      assert.ok(
        dev.logs.some(
          (l) =>
            l.level === 'warn' &&
            /tail consumer "tail-consumer" is not served in this session and account/.test(l.message),
        ),
      );
    } finally {
      await dev.close();
      producer.cleanup();
      consumer.cleanup();
      await new Promise<void>((r) => sink.close(() => r()));
    }
  });
});
