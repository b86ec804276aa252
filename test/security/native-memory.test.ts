// Native memory outside the V8 heap (issue 14 item 6): Intl objects hold ICU data the heap limit
// never saw — 3.4 GB of host memory from a 128 MB isolate. Now each reserves an estimate against
// a native budget the size of the memory limit: keeping more alive is a memory-limit breach that
// ends only that isolate, while objects made and dropped are given back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  net = await startTenants({ hog: 'intl-hog', neighbour: 'api' });
});
after(() => net.close());

describe('native memory behind Intl', () => {
  it('Intl keeps its behaviour (callable without new, statics, instanceof, segments)', async () => {
    const res = await net.fetchAs('hog', '/use');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), {
      date: '1/1/1970',
      number: '1.234,5',
      instance: true,
      ctor: true,
      supported: ['en'],
      segments: 3,
      compare: ['a', 'b'],
      gc: 'undefined', // the prelude's collector is not the tenant's
    });
  });

  it('made and dropped across turns: collected, no breach', async () => {
    const res = await net.fetchAs('hog', '/churn?n=2000');
    assert.equal(res.status, 200, await res.clone().text());
  });

  for (const [path, n] of [
    ['/keep-dtf', 20_000],
    ['/keep-segments', 200_000],
  ] as const) {
    it(`keeping ${n} (${path}) is a memory-limit breach, host memory stays bounded, the neighbour answers`, async () => {
      const rss0 = process.memoryUsage().rss;
      const res = await net.fetchAs('hog', `${path}?n=${n}`);
      const body = await res.text();
      const grew = (process.memoryUsage().rss - rss0) / 1e6;
      assert.equal(res.status, 503, body);
      assert.match(body, /memory/i);
      // Unbounded, this was 520 MB (20,000 formats) and 400 MB (segments).
      assert.ok(grew < 250, `host RSS grew ${grew.toFixed(0)} MB`);
      assert.equal((await net.fetchAs('neighbour', '/status?s=204')).status, 204);
      assert.equal((await net.fetchAs('hog', '/use')).status, 200);
    });
  }
});

describe('resizable buffers', () => {
  it('work as in V8 (resize, grow, subclasses, isView, constructor)', async () => {
    const res = await net.fetchAs('hog', '/buffers');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), {
      fixed: 4,
      resized: [true, 8, 8],
      grown: [true, 16],
      sub: true,
      isView: true,
      ctor: true,
      name: ['ArrayBuffer', 1],
      callWithoutNew: 'TypeError',
    });
  });

  it('made and dropped across turns: collected, no breach', async () => {
    const res = await net.fetchAs('hog', '/churn-resizable');
    assert.equal(res.status, 200, await res.clone().text());
  });

  it('up to their maximum, they count against the memory limit: 4 × 256 MiB is a breach, host memory stays bounded', async () => {
    // Before, isolated-vm counted only their initial length: 1 GiB held by a 128 MB isolate.
    const rss0 = process.memoryUsage().rss;
    const res = await net.fetchAs('hog', '/keep-resizable?n=4&mb=256');
    const body = await res.text();
    const grew = (process.memoryUsage().rss - rss0) / 1e6;
    assert.equal(res.status, 503, body);
    assert.match(body, /resizable buffer of up to 268435456 bytes/);
    assert.ok(grew < 250, `host RSS grew ${grew.toFixed(0)} MB`);
    assert.equal((await net.fetchAs('neighbour', '/status?s=204')).status, 204);
    assert.equal((await net.fetchAs('hog', '/buffers')).status, 200);
  });
});
