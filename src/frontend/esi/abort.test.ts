import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Cancel } from './abort.ts';
import { processEsi } from './process.ts';
import { bodyOf, collect, controlledFetch, manualBody, ok, settle } from './test-helpers.ts';
import { EsiError, type FragmentResponse } from './types.ts';

const context = { url: new URL('https://shop.test/page'), headers: [] };

describe('Cancel', () => {
  it('a child aborts with its parent, with the same reason, until detached', () => {
    const parent = new Cancel();
    const a = new Cancel(parent);
    const b = new Cancel(parent);
    b.detach();
    const grandchild = new Cancel(a);
    const reason = new Error('stop');
    parent.abort(reason);
    assert.equal(a.aborted, true);
    assert.equal(a.reason, reason);
    assert.equal(grandchild.reason, reason);
    assert.equal(b.aborted, false);
    assert.equal(new Cancel(parent).reason, reason, 'a child of an aborted token starts aborted');
  });

  it('aborting a child leaves its parent alone; the first reason stays', () => {
    const parent = new Cancel();
    const child = new Cancel(parent);
    child.abort('first');
    child.abort('second');
    assert.equal(child.reason, 'first');
    assert.equal(parent.aborted, false);
  });

  it('race: the promise, or the reason as soon as the token aborts', async () => {
    const c = new Cancel();
    assert.equal(await c.race(Promise.resolve(1)), 1);
    await assert.rejects(c.race(Promise.reject(new Error('own'))), /own/);
    const pending = c.race(new Promise(() => {}));
    c.abort(new Error('gone'));
    await assert.rejects(pending, /gone/);
    await assert.rejects(c.race(Promise.resolve(2)), /gone/);
  });

  it('signal: a real AbortSignal that follows the token, aborted already if the token is', () => {
    const early = new Cancel();
    const s = early.signal;
    assert.ok(s instanceof AbortSignal);
    assert.equal(early.signal, s, 'made once');
    let heard: unknown = null;
    s.addEventListener('abort', () => {
      heard = s.reason;
    });
    early.abort('why');
    assert.equal(heard, 'why');

    const late = new Cancel();
    late.abort();
    assert.equal(late.signal.aborted, true);
    assert.ok(late.signal.reason instanceof DOMException && late.signal.reason.name === 'AbortError');
  });
});

describe('processEsi: the fetcher’s AbortSignal', () => {
  let made = 0;
  const Original = globalThis.AbortController;
  beforeEach(() => {
    made = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        made++;
      }
    };
  });
  afterEach(() => {
    globalThis.AbortController = Original;
  });

  it('is not made for a fetcher that never reads it', async () => {
    const page = `${Array.from({ length: 20 }, (_, i) => `<esi:include src="/f${i}"/>`).join('')}!`;
    const out = await collect(
      processEsi(bodyOf([page]), {
        fetch: async (url) => ok(url.slice(-1)),
        context,
      }),
    );
    assert.equal(out, '01234567890123456789!');
    assert.equal(made, 0);
  });

  it('read after a timeout, it is already aborted with the timeout', async () => {
    const inits: { signal: AbortSignal }[] = [];
    const out = await collect(
      processEsi(bodyOf(['<esi:include src="/hang" onerror="continue"/>.']), {
        fetch: (_url, init) => {
          inits.push(init);
          return new Promise<FragmentResponse>(() => {});
        },
        context,
        timeoutMs: 20,
      }),
    );
    assert.equal(out, '.');
    assert.equal(made, 0);
    const { signal } = inits[0];
    assert.equal(signal.aborted, true);
    assert.ok(signal.reason instanceof EsiError && signal.reason.code === 'timeout');
  });

  it('read during the fetch, it aborts when the consumer stops; a copy of init carries it', async () => {
    const { fetch, calls } = controlledFetch();
    const copies: AbortSignal[] = [];
    const body = manualBody();
    body.push('a<esi:include src="/1"/>');
    const out = processEsi(body, {
      fetch: (url, init) => {
        copies.push({ ...init }.signal);
        return fetch(url, init);
      },
      context,
    });
    for await (const chunk of out) {
      assert.equal(new TextDecoder().decode(chunk), 'a');
      await settle();
      assert.equal(calls[0].signal.aborted, false);
      break;
    }
    assert.equal(calls[0].signal, copies[0]);
    assert.equal(made, 1, 'one AbortController, for the one fetch that asked');
    assert.equal(calls[0].signal.aborted, true);
    assert.equal((calls[0].signal.reason as EsiError).code, 'cancelled');
  });

  it('a fetch that succeeds leaves its signal unaborted', async () => {
    const { fetch, calls } = controlledFetch(() => ok('F'));
    assert.equal(await collect(processEsi(bodyOf(['<esi:include src="/f"/>']), { fetch, context })), 'F');
    assert.equal(calls[0].signal.aborted, false);
  });
});
