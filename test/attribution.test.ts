// Everything a request causes is charged to that request, exactly, while hundreds overlap in
// one isolate: its subrequests and their limit, its Server-Timing hops, its console lines, its
// waitUntil work (src/runtime/isolate/context.ts carries the request context).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { copyFixture, startFixture, startUpstream, type TestDev, type Upstream, waitFor } from './helpers.ts';

let dev: TestDev;
let upstream: Upstream;
let project: ReturnType<typeof copyFixture>;

before(async () => {
  upstream = await startUpstream();
  // A copy: the fixture's Durable Object keeps its database under the project's .outpost/.
  project = copyFixture('attribution');
  dev = await startFixture(project.dir, { limits: { cpuMs: 5000, wallMs: 60_000 } });
});
after(async () => {
  await dev.close();
  await upstream.close();
  project.cleanup();
});

const up = () => encodeURIComponent(upstream.url);

/** Server-Timing keeps at most this many hop entries per request (src/runtime/instance.ts). */
const MAX_HOPS = 32;

interface Sent {
  tag: string;
  k: number;
  wait: boolean;
  status: number;
  body: string;
  timing: string;
  ray: string;
}

async function send(tag: string, k: number, wait: boolean, delay: number): Promise<Sent> {
  const q = new URLSearchParams({ tag, k: String(k), upstream: upstream.url, delay: String(delay) });
  if (wait) q.set('wait', '1');
  const res = await fetch(`${dev.url}/?${q}`);
  return {
    tag,
    k,
    wait,
    status: res.status,
    body: await res.text(),
    timing: res.headers.get('server-timing') ?? '',
    ray: res.headers.get('cf-ray') ?? '',
  };
}

describe('per-request attribution under concurrency', () => {
  it('256 concurrent requests, 1–50 subrequests each (some 51): each charged for its own', async () => {
    const plan: { tag: string; k: number; wait: boolean }[] = [];
    for (let i = 0; i < 256; i++) {
      // Mixed budgets; every 32nd request makes one subrequest too many.
      const k = i % 32 === 5 ? 51 : 1 + ((i * 37) % 50);
      plan.push({ tag: `t${i}`, k, wait: i % 4 === 0 });
    }
    const results = await Promise.all(plan.map((p, i) => send(p.tag, p.k, p.wait, i % 7)));

    for (const r of results) {
      if (r.k > 50) {
        // Only this request fails, naming the limit; the isolate serves on.
        assert.equal(r.status, 503, `${r.tag}: ${r.body}`);
        assert.match(r.body, /subrequest/i);
        continue;
      }
      assert.equal(r.status, 200, `${r.tag} (k=${r.k}): ${r.body}`);
      assert.equal(r.body, `${r.tag} made ${r.k}`);
      // Its Server-Timing names exactly its own subrequests: two hops each (the PoP cache's
      // DYNAMIC, then the origin), up to the cap.
      const hops = r.timing.split(', ').filter((e) => e.includes('/r/'));
      assert.equal(hops.length, Math.min(2 * r.k, MAX_HOPS), `${r.tag}: ${r.timing}`);
      for (const h of hops) assert.ok(h.includes(`/r/${r.tag}/`), `${r.tag} got another's hop: ${h}`);
    }
    const failed = results.filter((r) => r.status !== 200);
    assert.equal(failed.length, plan.filter((p) => p.k > 50).length);

    // waitUntil (from cloudflare:workers) kept its own request alive: its fetch after the
    // response was charged to it and went out.
    const waited = results.filter((r) => r.wait && r.status === 200).map((r) => r.tag);
    await waitFor(
      () => waited.every((t) => upstream.records.includes(t)) || undefined,
      10_000,
      'every waitUntil subrequest',
    );

    // Console lines carry the request they were written for (its cf-ray).
    for (const r of results.filter((x) => x.status === 200)) {
      const line = dev.logs.find((e) => e.message === `attribution ${r.tag} done`);
      assert.ok(line, `no log line for ${r.tag}`);
      assert.equal(line.fields?.request, r.ray, `${r.tag}'s log line names another request`);
    }
    // No request's I/O was refused for want of a context.
    assert.ok(!dev.logs.some((e) => /Cannot perform I\/O|only possible while handling/.test(e.message)));
  });

  it('a body produced after the handler returned makes subrequests for its own request', async () => {
    const q = (tag: string) => `${dev.url}/stream?tag=${tag}&upstream=${encodeURIComponent(upstream.url)}`;
    const rs = await Promise.all(['s1', 's2', 's3', 's4'].map((t) => fetch(q(t))));
    for (const r of rs) assert.equal(await r.text(), '[404][404][404](404)');
    assert.ok(!dev.logs.some((e) => e.message.startsWith('stream failed')));
  });

  it('refuses I/O for a request that is over (a timer outliving it, outside waitUntil)', async () => {
    const res = await fetch(`${dev.url}/late?upstream=${up()}`);
    assert.equal(await res.text(), 'answered');
    const line = await waitFor(
      () => dev.logs.find((e) => e.message.startsWith('late fetch')),
      5000,
      'the late fetch outcome',
    );
    assert.match(line.message, /late fetch refused: .*request that has finished/);
    assert.ok(!upstream.records.includes('late'));
  });

  it('I/O after a rejected await (catch, finally), in a `for await` and an async arrow is charged to its request', async () => {
    const tags = Array.from({ length: 24 }, (_, i) => `rj${i}`);
    const results = await Promise.all(
      tags.map(async (tag, i) => {
        const res = await fetch(`${dev.url}/rejected?tag=${tag}&delay=${i % 5}&upstream=${up()}`);
        return { tag, body: await res.text(), timing: res.headers.get('server-timing') ?? '' };
      }),
    );
    for (const r of results) {
      assert.equal(r.body, '404,404,404,404,404', `${r.tag}: ${r.body}`);
      const hops = r.timing.split(', ').filter((e) => e.includes('/r/'));
      assert.equal(hops.length, 10, `${r.tag}: ${r.timing}`);
      for (const h of hops) assert.ok(h.includes(`/r/${r.tag}/`), `${r.tag} got another's hop: ${h}`);
    }
  });

  it('a thenable whose then() does the I/O is awaited, gathered, returned and chained in its request', async () => {
    const res = await fetch(`${dev.url}/thenable?upstream=${up()}`);
    assert.deepEqual(await res.json(), { awaited: 404, all: 404, returned: 404, chained: 404 });
  });

  it("a worker's WebSocket listeners make subrequests for the request that accepted it", async () => {
    const ws = new WebSocket(`${dev.url.replace('http', 'ws')}/ws?upstream=${up()}`);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const replies: string[] = [];
    ws.on('message', (m) => replies.push(String(m)));
    ws.send('a');
    ws.send('b');
    await waitFor(() => replies.length === 2 || undefined, 5000, 'two replies');
    assert.deepEqual(replies, ['404', '404']);
    ws.close();
    // Closed, the request is over: nothing keeps the isolate busy.
    await waitFor(() => dev.runtime.stats().busy === 0 || undefined, 5000, 'the isolate idle');
  });

  it('a WebSocket handshake that fails after the 101 does not keep its request alive', async () => {
    const { request } = await import('node:http');
    const u = new URL(`${dev.url}/ws?upstream=${up()}`);
    await new Promise<void>((resolve) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'bad',
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => resolve());
      req.end();
    });
    await waitFor(() => dev.runtime.stats().busy === 0 || undefined, 5000, 'the isolate idle');
  });

  it('a body pulled one chunk at a time (highWaterMark 0) makes its subrequests for its request', async () => {
    assert.equal(await (await fetch(`${dev.url}/pull0?upstream=${up()}`)).text(), '[404][404]');
  });

  it('KV and the Cache API are refused for a request that is over', async () => {
    assert.equal(await (await fetch(`${dev.url}/late-kv-cache`)).text(), 'answered');
    const line = await waitFor(
      () => dev.logs.find((e) => e.message.startsWith('late cache:')),
      5000,
      'late cache',
    );
    assert.match(line.message, /late cache: refused: .*request that has finished/);
  });

  it("a Durable Object's constructor and its timers do I/O as the object", async () => {
    assert.equal(await (await fetch(`${dev.url}/object`)).text(), 'armed');
    const report = await waitFor(
      async () => {
        const r = (await (await fetch(`${dev.url}/object?report=1`)).json()) as Record<string, string>;
        return r.fromTimer ? r : undefined;
      },
      5000,
      'the object report',
    );
    assert.deepEqual(report, { fromConstructor: 'went out', fromTimer: 'went out' });
  });

  it('the isolate that refused a 51st subrequest keeps serving', async () => {
    const r = await send('after', 3, false, 0);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'after made 3');
  });
});
