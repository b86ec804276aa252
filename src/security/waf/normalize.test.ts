import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  collapseWhitespace,
  decodeEntities,
  decodeEscapes,
  decodePath,
  decodeUtf8Lenient,
  excerptAround,
  foldUnicode,
  MAX_VALUE_CHARS,
  normalizeValue,
  percentDecode,
  resolveDotSegments,
  stripSqlComments,
} from './normalize.ts';

const text = (raw: string, plus = false) => normalizeValue(raw, plus).text;

describe('WAF normalisation', () => {
  it('percent-decodes bytes as UTF-8, %uXXXX, and keeps invalid escapes', () => {
    assert.equal(percentDecode('%3Cscript%3E'), '<script>');
    assert.equal(percentDecode('caf%C3%A9'), 'café');
    assert.equal(percentDecode('%u003Cb%u003E'), '<b>');
    assert.equal(percentDecode('100% sure %zz %'), '100% sure %zz %');
    assert.equal(percentDecode('a+b', true), 'a b');
    assert.equal(percentDecode('a+b'), 'a+b');
    assert.equal(percentDecode('%ff%fe'), '\ufffd\ufffd');
  });

  it('reads overlong UTF-8 as the ASCII it spells, as lenient decoders do', () => {
    assert.equal(percentDecode('..%c0%af..%c0%af'), '../../');
    assert.equal(percentDecode('%c0%ae%c0%ae/'), '../');
    assert.equal(decodeUtf8Lenient([0xe0, 0x80, 0xaf]), '/');
    assert.equal(decodeUtf8Lenient([0xf0, 0x9f, 0x98, 0x80]), '😀');
    assert.equal(decodeUtf8Lenient([0xed, 0xa0, 0x80]), '\ufffd');
  });

  it('decodes repeatedly until stable: double and triple encoding', () => {
    assert.equal(text('%253Cscript%253E'), '<script>');
    assert.equal(text('%25253Cscript%25253E'), '<script>');
    assert.equal(text('%2527%2520or%25201%253D1'), "' or 1=1");
  });

  it('treats + as a space only in the first round of query and form values', () => {
    assert.equal(text('1+union+select', true), '1 union select');
    assert.equal(text('c%2B%2B', true), 'c++');
    assert.equal(text('a+b'), 'a+b');
  });

  it('flags values still encoded after every round', () => {
    let v = '<';
    for (let i = 0; i < 8; i++) v = encodeURIComponent(v);
    const n = normalizeValue(v);
    assert.equal(n.overEncoded, true);
    assert.equal(normalizeValue('%253C').overEncoded, false);
  });

  it('decodes HTML character references: named, decimal, hex, leading zeros, missing semicolons', () => {
    assert.equal(decodeEntities('&lt;script&gt;'), '<script>');
    assert.equal(decodeEntities('&#60;&#x3C;&#X3c;&#0000060;&#60'), '<<<<<');
    assert.equal(decodeEntities('java&Tab;script&colon;'), 'java\tscript:');
    assert.equal(decodeEntities('&NewLine;&lpar;&rpar;&quot;&apos;'), '\n()"\'');
    assert.equal(decodeEntities('AT&T; Q&A &amp; R&D &unknown;'), 'AT&T; Q&A & R&D &unknown;');
    assert.equal(
      decodeEntities('&colon'),
      '&colon',
      'named references other than lt/gt/amp/quot need their ";"',
    );
    assert.equal(decodeEntities('&#x110000;&#xD800;'), '\ufffd\ufffd');
  });

  it('decodes \\uXXXX, \\u{…} and \\xXX escapes', () => {
    assert.equal(decodeEscapes('\\u003cscript\\u003e'), '<script>');
    assert.equal(decodeEscapes('\\x3cimg\\x3e \\u{1F600}'), '<img> 😀');
    assert.equal(decodeEscapes('C:\\Users\\xampp'), 'C:\\Users\\xampp');
  });

  it('folds fullwidth and compatibility characters (NFKC) and removes invisible ones', () => {
    assert.equal(foldUnicode('＜ｓｃｒｉｐｔ＞'), '<script>');
    assert.equal(foldUnicode('ｕｎｉｏｎ　ｓｅｌｅｃｔ'), 'union select');
    assert.equal(foldUnicode('sel\u200bect\u00ad'), 'select');
    assert.equal(foldUnicode('a\u2215b\u2216c'), 'a/b\\c');
    assert.equal(text('％３Ｃscript％３Ｅ'), '<script>', 'NFKC output is decoded again');
  });

  it('removes null bytes and flags them', () => {
    const n = normalizeValue('<scr%00ipt>');
    assert.equal(n.text, '<script>');
    assert.equal(n.hadNull, true);
    assert.equal(normalizeValue('abc').hadNull, false);
  });

  it('lower-cases, collapses spaces, keeps newlines, turns CR and control characters into separators', () => {
    assert.equal(text('UNION   SeLeCt'), 'union select');
    assert.equal(text('  padded  '), 'padded');
    assert.equal(text('a%0d%0aid'), 'a\nid');
    assert.equal(text('a%0bb%0cc%09d'), 'a b c d');
    assert.equal(collapseWhitespace('a \n \n b'), 'a\nb');
  });

  it('inspects at most MAX_VALUE_CHARS characters of a value', () => {
    const n = normalizeValue(`${'a'.repeat(MAX_VALUE_CHARS)}<script>`);
    assert.equal(n.text.length, MAX_VALUE_CHARS);
    assert.doesNotMatch(n.text, /script/);
  });

  it('moves SQL comments out of the way: plain, MySQL executable, unterminated, line comments', () => {
    assert.equal(stripSqlComments('1/**/union/**/select', ' '), '1 union select');
    assert.equal(stripSqlComments('un/**/ion sel/**/ect', ''), 'union select');
    assert.equal(stripSqlComments('1 /*!50000union*/ /*!select*/ 1', ' '), '1 union select 1');
    assert.equal(stripSqlComments("' or 1=1/* rest", ' '), "' or 1=1");
    assert.equal(stripSqlComments('union#x\nselect', ' '), 'union select');
    assert.equal(stripSqlComments('union--x\nselect', ' '), 'union select');
    assert.equal(stripSqlComments("admin'--", ' '), "admin'--", 'a trailing comment is evidence, kept');
  });

  it('resolves dot segments without climbing above the root', () => {
    assert.equal(resolveDotSegments('/a/./b/../c'), '/a/c');
    assert.equal(resolveDotSegments('/a/b/..'), '/a/');
    assert.equal(resolveDotSegments('/../../etc/passwd'), '/etc/passwd');
    assert.equal(resolveDotSegments('/a/.'), '/a/');
    assert.equal(resolveDotSegments('/plain/path'), '/plain/path');
  });

  it('decodes paths with backslashes as slashes and repeated slashes as one', () => {
    assert.equal(decodePath('/a%5c..%5c..%5cwin.ini').path, '/a/../../win.ini');
    assert.equal(decodePath('//a///b').path, '/a/b');
    assert.equal(decodePath('/%2e%2e/%252e%252e/x').path, '/../../x');
    assert.equal(decodePath('/a+b').path, '/a+b', 'no + as space in paths');
  });

  it('quotes at most 80 characters around a match, control characters escaped', () => {
    const long = `${'x'.repeat(200)}<script>${'y'.repeat(200)}`;
    const e = excerptAround(long, 200);
    assert.ok(e.length <= 80);
    assert.match(e, /<script>/);
    assert.equal(excerptAround('a\nb\x01c', 0), 'a\\nb\\x01c');
  });
});
