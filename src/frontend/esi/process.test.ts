import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPage, shopContext, type Table } from './test-helpers.ts';
import type { EsiOptions } from './types.ts';

const context = shopContext;
const run = (page: string | string[], table: Table, opts: Partial<EsiOptions> = {}) =>
  runPage(page, table, { context, ...opts });
const F = 'https://shop.test';

describe('processEsi: elements', () => {
  it('esi:include, relative src resolving against the page', async () => {
    const r = run('a<esi:include src="frag"/>b<esi:include src="/abs"></esi:include>c', {
      [`${F}/dir/frag`]: 'F',
      [`${F}/abs`]: 'A',
    });
    assert.equal(await r.out, 'aFbAc');
    assert.deepEqual(r.urls, [`${F}/dir/frag`, `${F}/abs`]);
  });

  it('esi:remove, esi:comment and <!--esi --> ', async () => {
    const r = run(
      '1<esi:remove>2<esi:include src="/x"/></esi:remove>3<esi:comment text="no"/>4<!--esi 5<esi:include src="/y"/>-->6',
      {
        [`${F}/y`]: 'Y',
      },
    );
    assert.equal(await r.out, '134 5Y6');
    assert.deepEqual(r.urls, [`${F}/y`]);
  });

  it('esi:vars substitutes every variable; outside it $(…) is text', async () => {
    const page =
      '$(HTTP_HOST)|<esi:vars>$(HTTP_COOKIE{user}) $(HTTP_HOST) $(QUERY_STRING{lang}) $(QUERY_STRING) ' +
      '$(HTTP_ACCEPT_LANGUAGE{fr}) $(HTTP_ACCEPT_LANGUAGE{de}) $(GEO{country_code}) $(HTTP_REFERER) ' +
      "$(HTTP_USER_AGENT{os}) $(HTTP_COOKIE{none}|'dflt')</esi:vars>";
    assert.equal(
      await run(page, {}).out,
      '$(HTTP_HOST)|bob shop.test fr lang=fr&id=7 true false CH https://ref.test/ UNIX dflt',
    );
  });

  it('variables in include src and alt', async () => {
    const r = run(
      '<esi:include src="/p/$(QUERY_STRING{id})?u=$(HTTP_COOKIE{user})" alt="/alt/$(GEO{country_code})"/>',
      {
        [`${F}/alt/CH`]: 'ALT',
      },
    );
    assert.equal(await r.out, 'ALT');
    assert.deepEqual(r.urls, [`${F}/p/7?u=bob`, `${F}/alt/CH`]);
  });

  it('esi:choose: the first true esi:when, else esi:otherwise; skipped branches fetch nothing', async () => {
    const choose = (a: string, b: string) =>
      `<esi:choose> <esi:when test="${a}">W1<esi:include src="/w1"/></esi:when>` +
      `<esi:when test="${b}">W2</esi:when><esi:otherwise>O<esi:include src="/o"/></esi:otherwise> </esi:choose>`;
    const table = { [`${F}/w1`]: 'i1', [`${F}/o`]: 'io' };
    let r = run(choose("$(HTTP_COOKIE{user}) == 'bob'", '1 == 1'), table);
    assert.equal(await r.out, 'W1i1');
    assert.deepEqual(r.urls, [`${F}/w1`]);
    r = run(
      choose(
        "$(HTTP_COOKIE{user}) == 'eve'",
        '$(HTTP_COOKIE{cart}) &gt;= 3 &amp;&amp; $(HTTP_ACCEPT_LANGUAGE{en})',
      ),
      table,
    );
    assert.equal(await r.out, 'W2');
    assert.deepEqual(r.urls, []);
    r = run(choose("$(GEO{country_code}) == 'DE'", "$(HTTP_HOST) != 'shop.test'"), table);
    assert.equal(await r.out, 'Oio');
  });

  it('esi:try: the attempt when its includes succeed, else the except (fetched only then)', async () => {
    const page = (src: string) =>
      `<esi:try> <esi:attempt>A<esi:include src="${src}"/>B</esi:attempt> <esi:except>E<esi:include src="/e"/></esi:except> </esi:try>.`;
    const table = { [`${F}/good`]: 'g', [`${F}/e`]: 'x', [`${F}/bad`]: [503, 'down'] as [number, string] };
    let r = run(page('/good'), table);
    assert.equal(await r.out, 'AgB.');
    assert.deepEqual(r.urls, [`${F}/good`]);
    r = run(page('/bad'), table);
    assert.equal(await r.out, 'Ex.');
    assert.deepEqual(r.urls, [`${F}/bad`, `${F}/e`]);
  });

  it('nested esi:try: an inner failure is caught inside; a failing inner except fails the outer attempt', async () => {
    const table = { [`${F}/ok`]: 'k' };
    const inner = (exceptSrc: string) =>
      `<esi:try><esi:attempt><esi:include src="/no"/></esi:attempt><esi:except>e<esi:include src="${exceptSrc}"/></esi:except></esi:try>`;
    const outer = (body: string) =>
      `<esi:try><esi:attempt>[${body}]</esi:attempt><esi:except>OUTER</esi:except></esi:try>`;
    assert.equal(await run(outer(inner('/ok')), table).out, '[ek]');
    assert.equal(await run(outer(inner('/no2')), table).out, 'OUTER');
  });
});
