import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processEsi } from './process.ts';
import {
  bodyOf,
  bytes,
  collect,
  collectBytes,
  controlledFetch,
  decode,
  manualBody,
  ok,
  settle,
  tableFetch,
} from './test-helpers.ts';
import { EsiError } from './types.ts';

const context = { url: new URL('https://s.test/p?x=1'), headers: [['cookie', 'c=v']] as [string, string][] };
const F = 'https://s.test';

describe('processEsi: streaming', () => {
  it('sends the bytes before an include before that fragment has answered', async () => {
    const { fetch, calls } = controlledFetch();
    const it = processEsi(bodyOf(['<h1>head</h1>', '<esi:include src="/slow"/>tail']), { fetch, context })[
      Symbol.asyncIterator
    ]();
    const first = await it.next();
    assert.equal(decode(first.value!), '<h1>head</h1>');
    await settle();
    assert.equal(calls.length, 1);
    let rest = '';
    const more = (async () => {
      for (let r = await it.next(); !r.done; r = await it.next()) rest += decode(r.value);
    })();
    await settle();
    assert.equal(rest, '', 'nothing after the include leaves before it');
    calls[0].answer.resolve(ok('SLOW'));
    await more;
    assert.equal(rest, 'SLOWtail');
  });

  it('starts every fetch as the parser meets it: all are in flight before the first answers', async () => {
    const { fetch, calls } = controlledFetch();
    const body = manualBody();
    const it = processEsi(body, { fetch, context })[Symbol.asyncIterator]();
    body.push('a<esi:include src="/1"/>b');
    assert.equal(decode((await it.next()).value!), 'a');
    body.push(
      '<esi:include src="/2"/>c<esi:try><esi:attempt><esi:include src="/3"/></esi:attempt></esi:try>',
    );
    body.push('<esi:include src="/4"/>');
    body.end();
    await settle();
    assert.deepEqual(
      calls.map((c) => c.url),
      [`${F}/1`, `${F}/2`, `${F}/3`, `${F}/4`],
    );
    // Answer in reverse order: the page still comes in document order.
    for (const [i, c] of [...calls].reverse().entries()) c.answer.resolve(ok(`F${calls.length - i}`));
    let rest = '';
    for (let r = await it.next(); !r.done; r = await it.next()) rest += decode(r.value);
    assert.equal(rest, 'F1bF2cF3F4');
  });

  it('the output is the same wherever the page is split, to single bytes', async () => {
    const page =
      "é<esi:vars>[$(HTTP_COOKIE{c}|'d') $(QUERY_STRING{x})]</esi:vars>" +
      '<esi:include src="/f?a=1&amp;b=$(HTTP_COOKIE{c})"/><!--esi <i>x</i> --> --> ' +
      '<esi:remove>junk<esi:include src="/junk"/></esi:remove><esi:comment text="c"/>' +
      '<esi:choose><esi:when test="$(HTTP_COOKIE{c}) == \'v\'">W</esi:when><esi:otherwise>O</esi:otherwise></esi:choose>' +
      '<esi:try><esi:attempt><esi:include src="/bad"/></esi:attempt><esi:except>E</esi:except></esi:try>' +
      '<esi:bogus a="1">中文<p class="x">$(HTTP_HOST)</p>';
    const table = { [`${F}/f?a=1&b=v`]: 'FRAG' };
    const expected = 'é[v 1]FRAG <i>x</i>  --> WE<esi:bogus a="1">中文<p class="x">$(HTTP_HOST)</p>';
    const run = async (parts: Uint8Array[]) =>
      collect(processEsi(bodyOf(parts), { fetch: tableFetch(table).fetch, context }));
    assert.equal(await run([bytes(page)]), expected);
    const all = bytes(page);
    for (let i = 0; i <= all.length; i++) {
      assert.equal(await run([all.subarray(0, i), all.subarray(i)]), expected, `split at byte ${i}`);
    }
    assert.equal(await run([...all].map((b) => new Uint8Array([b]))), expected, 'one byte at a time');
  });

  it('bytes that are not markup leave unchanged, valid UTF-8 or not', async () => {
    const raw = new Uint8Array([0xff, 0xfe, 0x3c, 0x80, 0xe4, 0xb8, 0xad, 0x00, 0xc3]);
    const page = new Uint8Array([...raw, ...bytes('<esi:include src="/f"/>'), ...raw]);
    const out = await collectBytes(
      processEsi(bodyOf([page.subarray(0, 5), page.subarray(5)]), {
        fetch: tableFetch({ [`${F}/f`]: 'ü' }).fetch,
        context,
      }),
    );
    assert.deepEqual([...out], [...raw, ...bytes('ü'), ...raw]);
  });
});

describe('processEsi: timeouts and cancellation', () => {
  it('a fragment that hangs times out (its fetch is aborted) and alt is used', async () => {
    const { fetch, calls } = controlledFetch((url) => (url.endsWith('/alt') ? ok('ALT') : undefined));
    const out = await collect(
      processEsi(bodyOf(['<esi:include src="/hang" alt="/alt"/>.']), { fetch, context, timeoutMs: 50 }),
    );
    assert.equal(out, 'ALT.');
    assert.equal(calls[0].signal.aborted, true);
    assert.ok(calls[0].signal.reason instanceof EsiError && calls[0].signal.reason.code === 'timeout');
    assert.equal(calls[1].signal.aborted, false);
  });

  it('a body that stops mid-way times out too; with onerror="continue" the include is left out whole', async () => {
    const body = manualBody();
    body.push('partial');
    const { fetch } = controlledFetch(() => ({ status: 200, headers: [], body }));
    const out = await collect(
      processEsi(bodyOf(['[<esi:include src="/half" onerror="continue"/>]']), {
        fetch,
        context,
        timeoutMs: 50,
      }),
    );
    assert.equal(out, '[]');
    assert.equal(body.returned, true, 'the fragment body is released');
  });

  it('a timeout inside esi:try chooses the except branch', async () => {
    const { fetch } = controlledFetch();
    const out = await collect(
      processEsi(
        bodyOf([
          '<esi:try><esi:attempt><esi:include src="/hang"/></esi:attempt><esi:except>late</esi:except></esi:try>',
        ]),
        {
          fetch,
          context,
          timeoutMs: 50,
        },
      ),
    );
    assert.equal(out, 'late');
  });

  it('when the consumer stops, fetches in flight are aborted and the source released', async () => {
    const { fetch, calls } = controlledFetch();
    const body = manualBody();
    body.push('a<esi:include src="/1"/><esi:include src="/2"/>');
    for await (const chunk of processEsi(body, { fetch, context })) {
      assert.equal(decode(chunk), 'a');
      await settle();
      assert.equal(calls.length, 2);
      break;
    }
    assert.deepEqual(
      calls.map((c) => c.signal.aborted && (c.signal.reason as EsiError).code),
      ['cancelled', 'cancelled'],
    );
    await settle();
    assert.equal(body.returned, true);
    // A response arriving after the abort is released unread.
    const late = bodyOf(['x']);
    calls[0].answer.resolve({ status: 200, headers: [], body: late });
    await settle();
    assert.equal(late.returned, true);
  });

  it('stopping also aborts the fetches of nested fragments', async () => {
    const { fetch, calls } = controlledFetch((url) =>
      url.endsWith('/outer') ? ok('o<esi:include src="/inner"/>', 'content="ESI/1.0"') : undefined,
    );
    for await (const chunk of processEsi(bodyOf(['x<esi:include src="/outer"/>']), { fetch, context })) {
      assert.equal(decode(chunk), 'x');
      await settle();
      assert.deepEqual(
        calls.map((c) => [c.url, c.depth]),
        [
          [`${F}/outer`, 1],
          [`${F}/inner`, 2],
        ],
      );
      break;
    }
    assert.equal(calls[1].signal.aborted, true);
  });

  it("with 'fail', a failed include ends the page at once, aborting the includes still loading", async () => {
    const { fetch, calls } = controlledFetch();
    const it = processEsi(bodyOf(['a<esi:include src="/slow"/>b<esi:include src="/bad"/>c']), {
      fetch,
      context,
    })[Symbol.asyncIterator]();
    assert.equal(decode((await it.next()).value!), 'a');
    await settle();
    calls[1].answer.resolve({ status: 500, headers: [], body: null });
    await assert.rejects(it.next(), (e: unknown) => e instanceof EsiError && e.code === 'status');
    assert.equal(calls[0].signal.aborted, true);
  });

  it('a source that fails fails the output', async () => {
    const broken: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        yield bytes('ok');
        throw new Error('socket reset');
      },
    };
    await assert.rejects(
      collect(processEsi(broken, { fetch: tableFetch({}).fetch, context })),
      /socket reset/,
    );
  });
});

describe('processEsi: memory bounds', () => {
  it('reads at most maxBufferBytes ahead of what was sent', async () => {
    const { fetch, calls } = controlledFetch();
    const chunks = ['<esi:include src="/slow"/>', ...Array.from({ length: 50 }, () => 'x'.repeat(100))];
    const body = bodyOf(chunks);
    const out = collect(processEsi(body, { fetch, context, maxBufferBytes: 1000 }));
    await settle();
    assert.ok(body.pulled <= 13, `pulled ${body.pulled} chunks of 100 bytes while waiting`);
    calls[0].answer.resolve(ok('S'));
    assert.equal(await out, `S${'x'.repeat(5000)}`);
    assert.equal(body.pulled, 52);
  });

  it('an undecided esi:attempt larger than maxBufferBytes fails to its except', async () => {
    const { fetch, calls } = controlledFetch();
    const big = Array.from({ length: 30 }, () => 'y'.repeat(100));
    const page = [
      '<esi:try><esi:attempt><esi:include src="/slow"/>',
      ...big,
      '</esi:attempt><esi:except>E</esi:except></esi:try>!',
    ];
    const out = await collect(processEsi(bodyOf(page), { fetch, context, maxBufferBytes: 1000 }));
    assert.equal(out, 'E!');
    assert.equal(calls[0].signal.aborted, true);
  });
});
