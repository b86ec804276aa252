import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExprError, evaluateTest, parseExpr } from './expr.ts';
import { Variables } from './vars.ts';

const vars = new Variables({
  url: new URL('https://shop.test/p?n=10&s=abc&neg=-2'),
  headers: [
    ['cookie', 'user=bob; tier=3'],
    ['accept-language', 'en-GB,fr;q=0.5'],
  ],
  geo: { country_code: 'DE' },
});
const t = (src: string) => evaluateTest(src, vars);

describe('ESI expressions', () => {
  it('compares strings and numbers with every comparison operator', () => {
    assert.equal(t("$(HTTP_COOKIE{user}) == 'bob'"), true);
    assert.equal(t("$(HTTP_COOKIE{user}) == 'alice'"), false);
    assert.equal(t("$(HTTP_COOKIE{user}) != 'alice'"), true);
    assert.equal(t("$(HTTP_COOKIE{user}) != 'bob'"), false);
    assert.equal(t('$(HTTP_COOKIE{tier}) < 4'), true);
    assert.equal(t('$(HTTP_COOKIE{tier}) < 3'), false);
    assert.equal(t('$(HTTP_COOKIE{tier}) <= 3'), true);
    assert.equal(t('$(HTTP_COOKIE{tier}) > 2.5'), true);
    assert.equal(t('$(HTTP_COOKIE{tier}) >= 4'), false);
    assert.equal(t('$(QUERY_STRING{neg}) < -1'), true);
  });

  it('numeric operands compare as numbers, anything else as strings', () => {
    assert.equal(t('$(QUERY_STRING{n}) > 9'), true, '10 > 9 as numbers');
    assert.equal(t("$(QUERY_STRING{n}) > '9'"), false, "'10' > '9' as strings");
    assert.equal(t('$(QUERY_STRING{n}) == 10.0'), true);
    assert.equal(t("$(QUERY_STRING{s}) < 'abd'"), true);
  });

  it('a comparison with an empty or undefined operand is false (ESI 1.0 §5)', () => {
    assert.equal(t("$(HTTP_COOKIE{none}) == ''"), false);
    assert.equal(t("$(HTTP_COOKIE{none}) != 'x'"), false);
    assert.equal(t('!$(HTTP_COOKIE{none})'), true);
    assert.equal(t('$(HTTP_COOKIE{none})'), false);
  });

  it('!, & and |, their spellings && and ||, precedence and parentheses', () => {
    assert.equal(t("!($(HTTP_COOKIE{user}) == 'bob')"), false);
    assert.equal(t("$(HTTP_COOKIE{user}) == 'bob' & $(HTTP_COOKIE{tier}) == 3"), true);
    assert.equal(t("$(HTTP_COOKIE{user}) == 'bob' && $(HTTP_COOKIE{tier}) == 4"), false);
    assert.equal(t("$(HTTP_COOKIE{user}) == 'x' | $(HTTP_COOKIE{tier}) == 3"), true);
    assert.equal(t("$(HTTP_COOKIE{user}) == 'x' || $(HTTP_COOKIE{tier}) == 4"), false);
    // & binds tighter than |: 1 | (0 & 0) is true, (1 | 0) & 0 is false.
    assert.equal(t("'a' == 'a' | 'a' == 'b' & 'a' == 'c'"), true);
    assert.equal(t("('a' == 'a' | 'a' == 'b') & 'a' == 'c'"), false);
    assert.equal(t('!!1'), true);
  });

  it('boolean variables: HTTP_ACCEPT_LANGUAGE{…}', () => {
    assert.equal(t('$(HTTP_ACCEPT_LANGUAGE{en})'), true);
    assert.equal(t('$(HTTP_ACCEPT_LANGUAGE{de})'), false);
    assert.equal(t('$(HTTP_ACCEPT_LANGUAGE{fr}) & !$(HTTP_ACCEPT_LANGUAGE{de})'), true);
    assert.equal(t("$(GEO{country_code}) == 'DE'"), true);
  });

  it('string literals may hold quotes, operators and $( escaped or not', () => {
    assert.equal(t("'it\\'s' == 'it\\'s'"), true);
    assert.equal(t("'a==b' != 'a'"), true);
    assert.equal(t("'$(HTTP_HOST)' == '$(HTTP_HOST)'"), true);
  });

  it('rejects what is not an expression, without evaluating any of it', () => {
    for (const bad of [
      '',
      '==',
      "'open",
      '(1 == 1',
      '1 == 1)',
      '1 2',
      'bob',
      'constructor',
      'process.exit(1)',
      '1 < 2 < 3',
      '$(',
      '$(HTTP_HOST',
      '1 = 1',
      `${'('.repeat(100)}1${')'.repeat(100)}`,
      `${'!'.repeat(100)}1`,
    ]) {
      assert.throws(() => parseExpr(bad), ExprError, bad);
    }
    assert.doesNotThrow(() => parseExpr(`${'('.repeat(20)}1${')'.repeat(20)}`));
  });
});
