// The Durable Object examples with real clients: the seed's DocumentRoom over WebSockets (join,
// broadcast, leave; the text persists) and RateLimitDO, exact and sharded.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startFixture, type TestDev } from './helpers.ts';

const examples = join(import.meta.dirname, '..', 'examples');

/** A client that keeps every message it gets. */
function join_(base: string, doc: string, user: string) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/doc/${doc}?user=${user}`);
  const got: any[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    got.push(JSON.parse(String(d)));
    for (const w of waiters.splice(0)) w();
  });
  const next = async (pred: (m: any) => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const i = got.findIndex(pred);
      if (i >= 0) return got.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`${user}: no ${what} (got ${JSON.stringify(got)})`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  const open = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, next, open };
}

describe('DocumentRoom (examples/document-room)', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture(join(examples, 'document-room'), { durableObjects: { dir: null } });
  });
  after(() => dev.close());
  it('join, broadcast, leave; the text outlives the connections', async () => {
    const ann = join_(dev.url, 'spec', 'ann');
    await ann.open;
    const init = await ann.next((m) => m.type === 'init', 'init');
    assert.deepEqual([init.text, init.version, init.present], ['', 0, ['ann']]);
    const bob = join_(dev.url, 'spec', 'bob');
    await bob.open;
    assert.deepEqual((await bob.next((m) => m.type === 'init', 'init')).present, ['ann', 'bob']);
    assert.deepEqual(
      (await ann.next((m) => m.type === 'presence' && m.present.length === 2, 'presence')).present,
      ['ann', 'bob'],
    );
    ann.ws.send(JSON.stringify({ type: 'edit', op: { pos: 0, insert: 'Hello' } }));
    bob.ws.send(JSON.stringify({ type: 'edit', op: { pos: 5, insert: ' world' } }));
    const seen = [
      await bob.next((m) => m.type === 'edit' && m.version === 1, 'edit 1'),
      await bob.next((m) => m.type === 'edit' && m.version === 2, 'edit 2'),
    ];
    assert.deepEqual(
      seen.map((m) => m.by),
      ['ann', 'bob'],
    );
    await ann.next((m) => m.type === 'edit' && m.version === 2, 'edit 2');
    bob.ws.close();
    assert.deepEqual(
      (await ann.next((m) => m.type === 'presence' && m.present.length === 1, 'leave')).present,
      ['ann'],
    );
    ann.ws.close();
    const doc = (await (await fetch(`${dev.url}/doc/spec`)).json()) as { text: string; version: number };
    assert.deepEqual(doc, { text: 'Hello world', version: 2 });
    // A bad message gets an answer, not a dropped connection.
    const eve = join_(dev.url, 'spec', 'eve');
    await eve.open;
    eve.ws.send('not json');
    assert.equal((await eve.next((m) => m.type === 'error', 'error')).message, 'messages must be JSON');
    eve.ws.close();
  });
});

describe('RateLimitDO (examples/rate-limit)', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture(join(examples, 'rate-limit'), { durableObjects: { dir: null } });
  });
  after(() => dev.close());
  it('allows LIMIT requests per window for a key, then 429 with Retry-After; other keys are separate', async () => {
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`${dev.url}/check?key=alice`)).status);
    assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429]);
    const limited = await fetch(`${dev.url}/check?key=alice`);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal((await fetch(`${dev.url}/check?key=bob`)).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await fetch(`${dev.url}/check?key=alice`)).status, 200, 'the window slid on');
  });
  it('exact under concurrency: 30 parallel requests for one key, 10 allowed', async () => {
    const all = await Promise.all(Array.from({ length: 30 }, () => fetch(`${dev.url}/check?key=burst`)));
    assert.equal(all.filter((r) => r.status === 200).length, 10);
  });
  it('sharded: the key spreads over its shards, each allowing its part', async () => {
    const all = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`${dev.url}/check-sharded?key=hot&shards=4`)),
    );
    const shards = new Set(all.map((r) => r.headers.get('x-ratelimit-shard')));
    assert.ok(shards.size >= 2, `spread over ${[...shards].join(', ')}`);
    const allowed = all.filter((r) => r.status === 200).length;
    assert.ok(allowed <= 12 && allowed >= 3, `${allowed} allowed`);
  });
});
