import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processEsi } from './process.ts';
import { bodyOf, runPage, shopContext, type Table, tableFetch } from './test-helpers.ts';
import { EsiError, type EsiOptions } from './types.ts';

const context = shopContext;
const run = (page: string | string[], table: Table, opts: Partial<EsiOptions> = {}) =>
  runPage(page, table, { context, ...opts });
const F = 'https://shop.test';

describe('processEsi: failures and fallbacks', () => {
  it('alt is fetched when src fails (status, throw); onerror="continue" leaves the include out', async () => {
    const r = run(
      '<esi:include src="/a" alt="/b"/>|<esi:include src="/c" onerror="continue"/>|<esi:include src="/thrown" alt="/b"/>',
      { [`${F}/a`]: [404, 'nf'], [`${F}/b`]: 'B', [`${F}/c`]: [500, 'err'], [`${F}/thrown`]: 'THROW' },
    );
    assert.equal(await r.out, 'B||B');
    assert.deepEqual(r.urls, [`${F}/a`, `${F}/c`, `${F}/thrown`, `${F}/b`, `${F}/b`]);
  });

  it('a 2xx other than 200 is a success; 3xx, 4xx and 5xx fail', async () => {
    for (const [status, want] of [
      [200, 'x'],
      [203, 'x'],
      [304, ''],
      [302, ''],
      [404, ''],
      [500, ''],
    ] as const) {
      const r = run('<esi:include src="/s" onerror="continue"/>', { [`${F}/s`]: [status, 'x'] });
      assert.equal(await r.out, want, String(status));
    }
  });

  it('outside esi:try, a failed include fails the page by default (ESI 1.0 §3.1), after what came before', async () => {
    const out = processEsi(bodyOf(['before<esi:include src="/gone"/>after']), {
      fetch: tableFetch({}).fetch,
      context,
    });
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of out) got.push(new TextDecoder().decode(c));
      })(),
      (e: unknown) => e instanceof EsiError && e.code === 'status' && e.url === `${F}/gone`,
    );
    assert.deepEqual(got, ['before']);
  });

  it("onIncludeError 'empty' leaves it out and warns", async () => {
    const r = run('a<esi:include src="/gone" alt="/gone2"/>b', {}, { onIncludeError: 'empty' });
    assert.equal(await r.out, 'ab');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /gone.*alt.*gone2/);
  });

  it('bad include URLs fail: unresolvable, not http(s)', async () => {
    const r = run(
      '<esi:include src="http://[bad" onerror="continue"/><esi:include src="file:///etc/passwd" alt="data:,x" onerror="continue"/>.',
      {},
    );
    assert.equal(await r.out, '.');
    assert.deepEqual(r.urls, []);
  });

  it('nested fragments are processed when their response asks (default) or always', async () => {
    const table: Record<string, string | [number, string, string]> = {
      [`${F}/asks`]: [200, '<esi:include src="leaf"/>!', 'max-age=60, content="ESI/1.0"'],
      [`${F}/plain`]: '<esi:include src="leaf"/>',
      [`${F}/leaf`]: 'LEAF',
    };
    assert.equal(
      await run('<esi:include src="/asks"/>|<esi:include src="/plain"/>', table).out,
      'LEAF!|<esi:include src="leaf"/>',
    );
    assert.equal(
      await run('<esi:include src="/asks"/>|<esi:include src="/plain"/>', table, {
        processFragments: 'always',
      }).out,
      'LEAF!|LEAF',
    );
  });

  it("a fragment's Surrogate-Control counts when untargeted or targeted at deviceToken", async () => {
    const nested = '<esi:include src="/leaf"/>';
    const table: Table = {
      [`${F}/ours`]: [200, nested, 'content="ESI/1.0";outpost'],
      [`${F}/theirs`]: [200, nested, 'content="ESI/1.0";akamai'],
      [`${F}/leaf`]: 'L',
    };
    const page = '<esi:include src="/ours"/>|<esi:include src="/theirs"/>';
    assert.equal(await run(page, table).out, `L|${nested}`);
    assert.equal(await run(page, table, { deviceToken: 'akamai' }).out, `${nested}|L`);
  });

  it('a nested include resolves against its fragment and fails its parent include (then alt)', async () => {
    const r = run('<esi:include src="/f/one" alt="/alt"/>', {
      [`${F}/f/one`]: [200, '<esi:include src="two"/>', 'content="ESI/1.0"'],
      [`${F}/alt`]: 'ALT',
    });
    assert.equal(await r.out, 'ALT');
    assert.deepEqual(r.urls, [`${F}/f/one`, `${F}/f/two`, `${F}/alt`]);
  });

  it('depth limit: fragments nest up to maxDepth', async () => {
    const table: Record<string, [number, string, string]> = {};
    for (let i = 1; i <= 6; i++)
      table[`${F}/d${i}`] = [
        200,
        `${i}<esi:include src="/d${i + 1}" onerror="continue"/>`,
        'content="ESI/1.0"',
      ];
    assert.equal(await run('<esi:include src="/d1"/>', table).out, '12345');
    assert.equal(await run('<esi:include src="/d1"/>', table, { maxDepth: 2 }).out, '12');
    const r = run(
      '<esi:try><esi:attempt><esi:include src="/d1"/></esi:attempt><esi:except>deep</esi:except></esi:try>',
      {
        [`${F}/d1`]: [200, '<esi:include src="/d2"/>', 'content="ESI/1.0"'],
        [`${F}/d2`]: 'x',
      },
      { maxDepth: 1 },
    );
    assert.equal(await r.out, 'deep');
  });

  it('include loops fail like any failed include, including one back to the page', async () => {
    const table: Record<string, [number, string, string]> = {
      [`${F}/a`]: [200, 'a<esi:include src="/b"/>', 'content="ESI/1.0"'],
      [`${F}/b`]: [200, 'b<esi:include src="/a" alt="/leaf"/>', 'content="ESI/1.0"'],
      [`${F}/leaf`]: [200, 'L', ''],
    };
    const r = run('<esi:include src="/a"/>', table);
    assert.equal(await r.out, 'abL');
    assert.deepEqual(r.urls, [`${F}/a`, `${F}/b`, `${F}/leaf`], 'the loop is not fetched');
    const self = run('<esi:include src="/dir/page?lang=fr&amp;id=7" onerror="continue"/>x', {});
    assert.equal(await self.out, 'x');
    assert.deepEqual(self.urls, []);
  });

  it('maxIncludes counts fetches, src and alt each', async () => {
    const r = run(
      '<esi:include src="/1"/><esi:include src="/2"/><esi:include src="/3" alt="/1" onerror="continue"/>',
      {
        [`${F}/1`]: 'a',
        [`${F}/2`]: 'b',
        [`${F}/3`]: 'c',
      },
      { maxIncludes: 2 },
    );
    assert.equal(await r.out, 'ab');
    assert.deepEqual(r.urls, [`${F}/1`, `${F}/2`]);
  });

  it('maxFragmentBytes bounds the fragment bytes of the page', async () => {
    const r = run(
      '<esi:include src="/1"/><esi:include src="/2" alt="/3"/>',
      {
        [`${F}/1`]: '12345',
        [`${F}/2`]: '678',
        [`${F}/3`]: 'z',
      },
      { maxFragmentBytes: 7, onIncludeError: 'empty' },
    );
    assert.equal(await r.out, '12345');
    assert.match(r.warnings.join(), /exceed 7 bytes/);
  });

  it('options are checked', () => {
    assert.throws(
      () => processEsi(bodyOf([]), { context } as unknown as EsiOptions),
      /fetch must be a function/,
    );
    assert.throws(
      () => processEsi(bodyOf([]), { fetch: tableFetch({}).fetch, context, timeoutMs: -1 }),
      /timeoutMs/,
    );
    assert.throws(
      () =>
        processEsi(bodyOf([]), { fetch: tableFetch({}).fetch, context, onIncludeError: 'ignore' as 'fail' }),
      /onIncludeError/,
    );
  });
});
