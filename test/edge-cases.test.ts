// The PoP front's edge cases: client disconnects, passThroughOnException, streamed oversized bodies.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startFixture, startUpstream, type TestDev, type Upstream, waitFor } from './helpers.ts';

let dev: TestDev;
let upstream: Upstream;

before(async () => {
  upstream = await startUpstream();
  // Generous CPU: these tests are about streaming and the front, not the CPU limit (moving
  // 8 MiB through an isolate costs 10-100 ms of CPU here, see docs/runtime.md).
  dev = await startFixture('api', {
    origin: upstream.url,
    maxBodyBytes: 64 * 1024,
    limits: { cpuMs: 5000, waitUntilMs: 300 },
  });
});
after(async () => {
  await dev.close();
  await upstream.close();
});

describe('PoP front edge cases', () => {
  it('cancels a streamed response body when the client disconnects', async () => {
    const controller = new AbortController();
    const res = await fetch(`${dev.url}/infinite`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    const line = await waitFor(
      () => dev.logs.find((l) => l.message.startsWith('infinite stream cancelled')),
      3000,
      'cancel log',
    );
    assert.match(line.message, /infinite stream cancelled after \d+ chunks: client disconnected/);
    // The isolate is still healthy.
    assert.equal((await fetch(`${dev.url}/status?s=204`)).status, 204);
  });

  it('streams a large body to a slow reader exactly once, with back-pressure and no listener leak', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const n = 128; // 8 MiB
      const body = await new Promise<Buffer[]>((resolve, reject) => {
        request(`${dev.url}/big-stream?n=${n}`, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => {
            parts.push(d);
            res.pause(); // a slow client: the server must wait for drain
            setTimeout(() => res.resume(), 1);
          });
          res.on('end', () => resolve(parts));
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
      const all = Buffer.concat(body);
      assert.equal(all.byteLength, n * 65536);
      for (let i = 0; i < n; i++) assert.equal(all[i * 65536 + 12345], i % 251, `chunk ${i}`);
      assert.deepEqual(
        warnings.filter((w) => w === 'MaxListenersExceededWarning'),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('stops awaiting ctx.waitUntil() work at the limit and says so', async () => {
    const res = await fetch(`${dev.url}/waituntil-forever`);
    assert.equal(res.status, 200);
    await res.text();
    const line = await waitFor(
      () => dev.logs.find((l) => l.message.includes('did not finish within 300 ms')),
      3000,
      'waitUntil limit log',
    );
    assert.equal(line.level, 'warn');
    assert.equal((await fetch(`${dev.url}/status?s=204`)).status, 204);
  });

  it('passes a failed request through to the origin after ctx.passThroughOnException()', async () => {
    const before = upstream.hits.get('/pass-through') ?? 0;
    const res = await fetch(`${dev.url}/pass-through`);
    assert.equal(res.status, 404); // the origin's own answer for this path
    assert.equal(await res.text(), 'upstream 404');
    assert.equal(upstream.hits.get('/pass-through'), before + 1);
    assert.ok(dev.logs.some((l) => l.level === 'warn' && l.message.includes('passing through to origin')));
  });

  it('answers 413 when a chunked body passes the limit while streaming', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${dev.url}/echo`,
        { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(16 * 1024, 120);
      let sent = 0;
      const pump = () => {
        while (sent < 10) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(status, 413);
    assert.equal((await fetch(`${dev.url}/status?s=204`)).status, 204);
  });
});
