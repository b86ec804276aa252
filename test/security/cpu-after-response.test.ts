// CPU after the response (issue 14 item 4): waitUntil work, a WebSocket message handler and a
// timer that loop for ever are stopped at the CPU limit (the isolate is recycled), and a
// neighbour tenant keeps answering at its normal latency meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startTenants, type TestNetwork, waitFor } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  net = await startTenants({ spinner: 'cpu-after', neighbour: 'api' });
});
after(() => net.close());

/** CPU breaches logged for work after the response (or outside any request). */
const breaches = () =>
  net.logs.filter(
    (e) => e.fields?.limit === 'cpu' && /after the response|outside any request/.test(e.message),
  ).length;
const recycled = (before: number) =>
  waitFor(() => breaches() > before || undefined, 10_000, 'the CPU breach');

async function neighbourLatency(): Promise<number> {
  const t0 = performance.now();
  assert.equal((await net.fetchAs('neighbour', '/status?s=204')).status, 204);
  return performance.now() - t0;
}

describe('CPU after the response is limited', () => {
  for (const path of ['/wait-until', '/timer']) {
    it(`${path}: a loop after the response is stopped; the tenant answers again`, async () => {
      const n = breaches();
      assert.equal(await (await net.fetchAs('spinner', path)).text(), 'answered');
      await recycled(n);
      assert.ok((await neighbourLatency()) < 1000);
      assert.equal(await (await net.fetchAs('spinner', '/ok')).text(), 'ok');
    });
  }

  it("waitUntil work at a quarter of a core for ever meets the request's limit in all", async () => {
    // Under every per-period check (the sweep's, and half a core), so it used to run for ever.
    const n = breaches();
    assert.equal(await (await net.fetchAs('spinner', '/wait-until-slow')).text(), 'answered');
    await recycled(n);
    assert.match(
      [...net.logs].reverse().find((e) => e.fields?.limit === 'cpu')?.message ?? '',
      /by a request with its work after the response/,
    );
    assert.equal(await (await net.fetchAs('spinner', '/ok')).text(), 'ok');
  });

  it('WebSocket messages are events of their own: many small ones in all pass the limit, no breach', async () => {
    const n = breaches();
    const ws = new WebSocket(`${net.url.replace('http', 'ws')}/ws-work`, {
      headers: { 'outpost-tenant': 'spinner' },
    });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    // ~10 ms each, 30 of them: several times the 50 ms limit in all.
    const closed = new Promise((_, j) =>
      ws.once('close', (code) =>
        j(
          new Error(
            `closed (${code}): ${[...net.logs].reverse().find((e) => e.fields?.limit === 'cpu')?.message}`,
          ),
        ),
      ),
    );
    for (let i = 0; i < 30; i++) {
      const done = new Promise((r) => ws.once('message', r));
      ws.send('work');
      await Promise.race([done, closed]);
    }
    ws.close();
    assert.equal(breaches(), n, 'a breach was logged');
  });

  it('a WebSocket message handler that loops is stopped', async () => {
    const n = breaches();
    // A real client: the handshake through the PoP, then one message.
    const ws = new WebSocket(`${net.url.replace('http', 'ws')}/ws`, {
      headers: { 'outpost-tenant': 'spinner' },
    });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.send('spin');
    await recycled(n);
    ws.terminate();
    assert.ok((await neighbourLatency()) < 1000);
  });
});
