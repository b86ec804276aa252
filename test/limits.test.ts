// Limits: each breach answers 503 naming the limit, recycles only the breaching isolate, and
// another tenant keeps answering at its normal latency meanwhile.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { setLoadSource } from '../src/runtime/contention.ts';
import { startTenants, startUpstream, type TestNetwork, type Upstream, waitFor } from './helpers.ts';

let net: TestNetwork;
let upstream: Upstream;

before(async () => {
  upstream = await startUpstream();
  net = await startTenants(
    {
      bad: 'limits',
      // A large CPU budget, so that a heap bomb meets the memory limit first.
      heap: { fixture: 'limits', limits: { cpuMs: 20_000, wallMs: 15_000 } },
      // Each subrequest costs ~0.1–0.2 ms of isolate CPU in bridge crossings: give room, this tests the count.
      subreq: { fixture: 'limits', limits: { cpuMs: 2000 } },
      good: 'api',
    },
    { limits: { wallMs: 1500 } },
  );
});
after(async () => {
  await net.close();
  await upstream.close();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Latency of the healthy tenant: `n` sequential requests. */
async function goodLatencies(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await net.fetchAs('good', '/status?s=204');
    assert.equal(res.status, 204);
    out.push(performance.now() - t0);
  }
  return out;
}

async function expectBreach(path: string, limit: RegExp, tenant = 'bad') {
  const baseline = median(await goodLatencies(20));
  const breach = net.fetchAs(tenant, path);
  const during = await goodLatencies(20);
  const res = await breach;
  const body = await res.text();
  assert.equal(res.status, 503, `expected 503 for ${path}, got ${res.status}: ${body}`);
  assert.match(body, limit);
  assert.equal(res.headers.get('outpost-error')?.startsWith('LIMIT_'), true);
  // The other tenant kept answering: its median latency stayed in the normal range.
  assert.ok(
    median(during) < Math.max(25, baseline * 10),
    `good tenant slowed: median ${median(during).toFixed(1)} ms vs ${baseline.toFixed(1)} ms`,
  );
  // The breaching tenant gets a fresh isolate.
  const again = await net.fetchAs(tenant, '/ok');
  assert.equal(await again.text(), 'ok');
  assert.ok(
    net.logs.some((l) => l.level === 'error' && limit.test(l.message)),
    'breach was logged',
  );
}

describe('CPU time', () => {
  it('stops a synchronous infinite loop', () => expectBreach('/loop', /exceeded CPU time limit/));
  it('stops a loop that starts after awaiting fetch()', () =>
    expectBreach(
      `/loop-after-fetch?upstream=${encodeURIComponent(upstream.url)}`,
      /exceeded CPU time limit/,
    ));
  it('stops a loop that starts after a timer', () =>
    expectBreach('/loop-after-timer', /exceeded CPU time limit/));
});

describe('memory', () => {
  // isolated-vm needs 1–3 s of GC thrashing before it gives up on a heap bomb.
  it('stops a heap bomb', () => expectBreach('/heap', /exceeded memory limit/, 'heap'));
  it('stops a WebAssembly memory bomb grown from JS', () =>
    // A tenant with room for CPU: this tests memory, and growing copies buffers.
    expectBreach('/wasm-memory-bomb', /exceeded memory limit.*WebAssembly/, 'subreq'));
  it('stops many WebAssembly memories adding up past the limit', () =>
    expectBreach('/wasm-many-memories', /exceeded memory limit.*WebAssembly/, 'subreq'));
  it('caps growth from inside wasm code at the limit', async () => {
    const rss = process.memoryUsage().rss;
    const res = await net.fetchAs('bad', '/wasm-internal-grow');
    assert.equal(res.status, 200);
    const r = (await res.json()) as any;
    assert.deepEqual(r.results, [-1, -1, -1, -1, -1, -1, -1, -1]);
    assert.equal(r.bytes, 65536);
    assert.ok(process.memoryUsage().rss - rss < 200 * 1024 * 1024);
  });
});

describe('code running after the response', () => {
  it('stops a loop in a timer that runs with no request in flight', async () => {
    const res = await net.fetchAs('bad', '/loop-after-response');
    assert.equal(await res.text(), 'responded');
    await waitFor(
      () => net.logs.some((l) => /CPU time limit \([\d.]+ ms used outside any request/.test(l.message)),
      5000,
      'idle CPU breach',
    );
    assert.equal(await (await net.fetchAs('bad', '/ok')).text(), 'ok');
  });
  it('serves the next request from a fresh isolate after one died of memory while idle', async () => {
    const res = await net.fetchAs('heap', '/heap-after-response');
    assert.equal(await res.text(), 'responded');
    await waitFor(
      () => net.logs.some((l) => /memory limit \(heap passed 128 MB outside any request\)/.test(l.message)),
      15000,
      'idle memory breach',
    );
    assert.equal(await (await net.fetchAs('heap', '/ok')).text(), 'ok');
  });
});

describe('CPU time on contended cores (isolate.cpuTime counts time run by the clock)', () => {
  // /proc/loadavg as the runtime reads it: `running` threads runnable now, the watchdog's included.
  const load = (running: number) => () => `1.00 1.00 1.00 ${running}/300 4242\n`;
  const cores = availableParallelism();
  after(() => setLoadSource(null));
  it('uncontended, about 120 ms of work on a 50 ms limit is stopped', async () => {
    setLoadSource(load(1));
    await expectBreach('/burn?n=20000000', /exceeded CPU time limit/);
  });
  // The least share is lowered to 1/16 here (MIN_SHARE is 1/4), so that what this host's own load
  // adds to the time run cannot reach the limit.
  it('with 16 runnable threads per core, the same work is weighed by its share and answers', async () => {
    setLoadSource(load(cores * 16 + 1), 1 / 16);
    const res = await net.fetchAs('bad', '/burn?n=20000000');
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(await res.text(), /^burnt \d+$/);
  });
  it('host work charged to a request (crypto.subtle) is not weighed: it held a host thread', async () => {
    setLoadSource(load(cores * 16 + 1), 1 / 16);
    await expectBreach('/digest?n=40', /exceeded CPU time limit/);
  });
  it('with 16 runnable threads per core, a loop is still stopped', async () => {
    setLoadSource(load(cores * 16 + 1), 1 / 16);
    await expectBreach('/loop', /exceeded CPU time limit/);
  });
});

describe('wall time and subrequests', () => {
  it('answers 503 when no response comes within the wall-clock limit', () =>
    expectBreach('/slow?ms=5000', /exceeded wall-clock time limit/));
  it('measures wall time on a monotonic clock: the host clock stepped forward fails nothing', async () => {
    const realNow = Date.now;
    const pending = net.fetchAs('bad', '/slow?ms=300');
    await new Promise((r) => setTimeout(r, 50));
    // As NTP or a VM's clock sync may do while a request is in flight.
    Date.now = () => realNow() + 60_000;
    try {
      const res = await pending;
      assert.equal(`${res.status} ${await res.text()}`, '200 slow done');
    } finally {
      Date.now = realNow;
    }
  });
  it('allows 50 subrequests and refuses the 51st', async () => {
    const ok = await net.fetchAs('subreq', `/subrequests?n=50&upstream=${encodeURIComponent(upstream.url)}`);
    assert.equal(await ok.text(), 'made 50');
    await expectBreach(
      `/subrequests?n=51&upstream=${encodeURIComponent(upstream.url)}`,
      /exceeded subrequest limit/,
      'subreq',
    );
  });
});
