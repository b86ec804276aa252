import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processEsi } from './process.ts';
import { bodyOf, collect, tableFetch } from './test-helpers.ts';

const context = { url: new URL('https://m.test/'), headers: [] as [string, string][] };
const table = { 'https://m.test/f': 'F' };

async function both(page: string, maxTagBytes?: number) {
  const warnings: string[] = [];
  const opts = {
    fetch: tableFetch(table).fetch,
    context,
    maxTagBytes,
    onWarning: (m: string) => warnings.push(m),
  };
  const passed = await collect(processEsi(bodyOf([page]), opts));
  const passWarnings = warnings.splice(0);
  const reported = await collect(processEsi(bodyOf([page]), { ...opts, onMalformed: 'report' }));
  assert.equal(reported, passed, "'report' sends what 'pass' sends");
  assert.deepEqual(passWarnings, [], "'pass' warns about nothing");
  return { out: passed, warnings };
}

describe('processEsi: malformed markup', () => {
  it('unknown and unsupported esi: elements are sent on as written', async () => {
    const r = await both('<esi:inline name="/x" fetchable="yes">in</esi:inline><esi:foo/>.');
    assert.equal(r.out, '<esi:inline name="/x" fetchable="yes">in</esi:inline><esi:foo/>.');
    assert.equal(r.warnings.length, 3);
    assert.match(r.warnings[0], /esi:inline is not supported/);
    assert.match(r.warnings[1], /<\/esi:inline> without a start tag/);
  });

  it('unreadable tags and end tags without a start are sent on', async () => {
    const r = await both(
      '<esi:include src="/f" / x>|</esi:try>|<esi:include alt="/f"/>|<esi:include src="/f">',
    );
    assert.equal(r.out, '<esi:include src="/f" / x>|</esi:try>|<esi:include alt="/f"/>|F');
    assert.equal(r.warnings.length, 3);
    assert.match(r.warnings[2], /without src/);
  });

  it('a tag over maxTagBytes is sent on as text', async () => {
    const long = `<esi:include src="/f${'x'.repeat(200)}"/>`;
    const r = await both(`a${long}b`, 64);
    assert.equal(r.out, `a${long}b`);
    assert.match(r.warnings[0], /longer than 64 bytes/);
  });

  it('a test that does not parse is false and reported', async () => {
    const r = await both(
      '<esi:choose><esi:when test="$(HTTP_HOST) = 1">A</esi:when><esi:otherwise>B</esi:otherwise></esi:choose>',
    );
    assert.equal(r.out, 'B');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /test ".*": .*(taken as false)/);
  });

  it('esi:when outside esi:choose, and other elements directly inside esi:choose / esi:try', async () => {
    const r = await both(
      '<esi:when test="1">w</esi:when>|<esi:choose>text<esi:include src="/f"/><esi:when test="1">W</esi:when></esi:choose>',
    );
    assert.equal(r.out, '<esi:when test="1">w</esi:when>|<esi:include src="/f"/>W');
    assert.deepEqual(
      r.warnings.map((w) => w.replace(/:.*/s, '')),
      ['malformed ESI', 'malformed ESI', 'malformed ESI', 'malformed ESI'],
    );
    assert.match(r.warnings.join('\n'), /text directly inside esi:choose dropped/);
  });

  it('elements left open close where their parent ends or at the end; nothing is lost', async () => {
    const r = await both('<esi:try><esi:attempt>A<esi:include src="/f"/></esi:try>|<esi:vars>$(HTTP_HOST)');
    assert.equal(r.out, 'AF|m.test');
    assert.match(r.warnings[0], /esi:attempt not closed before esi:try ended/);
    assert.match(r.warnings[1], /esi:vars not closed at the end/);
    const open = await both('x<esi:try><esi:attempt>A');
    assert.equal(open.out, 'xA');
    assert.equal(open.warnings.length, 2);
  });

  it('an unclosed esi:remove drops the rest, and says so', async () => {
    const r = await both('a<esi:remove>b');
    assert.equal(r.out, 'a');
    assert.match(r.warnings[0], /esi:remove not closed/);
  });

  it('never throws on markup soup', async () => {
    const pieces = [
      '<esi:',
      '</esi:',
      'try>',
      'attempt>',
      'except>',
      'choose>',
      'when test="',
      "'a'",
      '==',
      '"',
      '>',
      '/>',
      '<!--esi',
      '-->',
      'include src="/f"',
      'vars>',
      '$(',
      'HTTP_HOST',
      ')',
      'remove>',
      'otherwise>',
      'x',
      ' ',
    ];
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 300; n++) {
      let page = '';
      for (let i = 0; i < 40; i++) page += pieces[Math.floor(rnd() * pieces.length)];
      await collect(
        processEsi(bodyOf([page.slice(0, 50), page.slice(50)]), {
          fetch: tableFetch(table).fetch,
          context,
          onMalformed: 'report',
          onWarning: () => {},
          timeoutMs: 1000,
        }),
      ).catch((e: Error) => assert.fail(`page ${JSON.stringify(page)} threw ${e.message}`));
    }
  });
});
