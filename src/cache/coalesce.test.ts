import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from './coalesce.ts';

const enc = (s: string) => new TextEncoder().encode(s);
async function text(body: AsyncIterable<Uint8Array> | null): Promise<string> {
  let out = '';
  if (body) for await (const c of body) out += new TextDecoder().decode(c);
  return out;
}

/** A controllable origin body: chunks are released one by one. */
function gate() {
  const queue: (string | Error | null)[] = [];
  let wake: (() => void) | null = null;
  return {
    send(v: string | Error | null) {
      queue.push(v);
      wake?.();
    },
    async *body(): AsyncGenerator<Uint8Array> {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        const v = queue.shift()!;
        if (v === null) return;
        if (v instanceof Error) throw v;
        yield enc(v);
      }
    },
  };
}

const anyone = () => true;
function body(s: string): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield enc(s);
  })();
}

describe('request coalescing', () => {
  it('1,000 concurrent misses for one key make exactly one origin request', async () => {
    const c = new Coalescer<number>();
    let origin = 0;
    const produce = async () => {
      origin++;
      await new Promise((r) => setTimeout(r, 20));
      return {
        meta: 200,
        body: (async function* () {
          yield enc('shared body');
        })(),
        shareWith: anyone,
      };
    };
    const results = await Promise.all(Array.from({ length: 1000 }, () => c.run('k', null, produce)));
    assert.equal(origin, 1);
    assert.equal(results.filter((r) => r.leader).length, 1);
    const bodies = await Promise.all(results.map((r) => text(r.body)));
    assert.ok(bodies.every((b) => b === 'shared body'));
    assert.equal(c.inFlight, 0);
  });
  it('waiters read the body as it arrives, not after it completes; late joiners get it from the start', async () => {
    const c = new Coalescer<string>();
    const g = gate();
    const first = await c.run('k', null, async () => ({ meta: 'm', body: g.body(), shareWith: anyone }));
    const it1 = first.body![Symbol.asyncIterator]();
    g.send('one ');
    assert.equal(new TextDecoder().decode((await it1.next()).value), 'one ');
    const late = await c.run('k', null, async () => {
      throw new Error('must not be called');
    });
    g.send('two');
    g.send(null);
    assert.equal(await text(late.body), 'one two');
    assert.equal(new TextDecoder().decode((await it1.next()).value), 'two');
  });
  it('a failed origin request releases every waiter with the error, and the next request tries again', async () => {
    const c = new Coalescer<number>();
    let calls = 0;
    const failing = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('origin down');
    };
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => c.run('k', null, failing)));
    assert.equal(calls, 1);
    assert.ok(outcomes.every((o) => o.status === 'rejected' && /origin down/.test(String(o.reason))));
    await assert.rejects(c.run('k', null, failing));
    assert.equal(calls, 2);
  });
  it('a body that fails midway fails every reader', async () => {
    const c = new Coalescer<number>();
    const g = gate();
    const [a, b] = await Promise.all([
      c.run('k', null, async () => ({ meta: 1, body: g.body(), shareWith: anyone })),
      c.run('k', null, async () => ({ meta: 1, body: null })),
    ]);
    g.send('part');
    g.send(new Error('reset by origin'));
    await assert.rejects(text(a.body), /reset by origin/);
    await assert.rejects(text(b.body), /reset by origin/);
  });
  it('different keys do not coalesce', async () => {
    const c = new Coalescer<string>();
    await Promise.all(['a', 'b', 'c'].map((k) => c.run(k, null, async () => ({ meta: k, body: null }))));
    assert.equal(c.started, 3);
  });
  it('a response without shareWith reaches only its own caller: every waiter makes its own request', async () => {
    const c = new Coalescer<string, string>();
    let calls = 0;
    const own = (user: string) => async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 10));
      return { meta: user, body: body(`page of ${user}`) };
    };
    const users = Array.from({ length: 50 }, (_, i) => `user${i}`);
    const results = await Promise.all(users.map((u) => c.run('k', u, own(u))));
    assert.equal(calls, 50);
    assert.equal(c.started, 50);
    for (const [i, r] of results.entries()) {
      assert.equal(r.meta, users[i]);
      assert.equal(await text(r.body), `page of ${users[i]}`);
    }
    assert.equal(c.inFlight, 0);
  });
  it('shareWith decides per waiter: the ones it refuses make their own request, the others share', async () => {
    const c = new Coalescer<string, string>();
    let calls = 0;
    const produce = (who: string) => async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 10));
      return { meta: who, body: body(`for ${who}`), shareWith: (w: string) => w.startsWith('en') };
    };
    const who = ['en-1', 'en-2', 'fr-1', 'en-3', 'fr-2'];
    const results = await Promise.all(who.map((w) => c.run('k', w, produce(w))));
    assert.equal(calls, 3, 'the leader (en-1), then fr-1 and fr-2 on their own');
    const got = await Promise.all(results.map((r) => text(r.body)));
    assert.deepEqual(got, ['for en-1', 'for en-1', 'for fr-1', 'for en-1', 'for fr-2']);
    assert.deepEqual(
      results.map((r) => r.leader),
      [true, false, true, false, true],
    );
  });
});
