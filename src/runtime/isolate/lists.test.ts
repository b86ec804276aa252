// The lists read in JavaScript before V8 gets them (lists.ts) mean what V8 would have made of the
// originals: the same result, the same error, the same reads of the list in the same order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localeList, MAX_LOCALES, replacerList } from './lists.ts';
import { logged, outcome } from './test-helpers.ts';

describe('lists read before V8 walks them', () => {
  it('a replacer array gives the same JSON, reading each entry once in order', () => {
    const value = { a: 1, b: 2, 1: 3, c: { a: 5, b: 6 } };
    const replacers: (() => unknown[])[] = [
      () => ['b', 'a'],
      () => ['b', new String('a'), 1, 'b', {}, true, null, 'c'],
      () => [new Number(1), '1', 1.0],
      // biome-ignore lint/suspicious/noSparseArray: holes are what is tested
      () => ['a', , 'c'],
      () => [],
    ];
    for (const make of replacers) {
      const logA: string[] = [];
      const logB: string[] = [];
      const expected = JSON.stringify(value, logged(make(), logA) as unknown as string[]);
      const list = replacerList(logged(make(), logB));
      assert.equal(JSON.stringify(value, list), expected);
      assert.deepEqual(logB, logA);
    }
  });

  it('a locale list gives the same locales and errors', () => {
    const lists: unknown[] = [
      undefined,
      'EN-us',
      ['en-US', 'DE', 'en-us'],
      new Intl.Locale('fr-CA'),
      [new Intl.Locale('ja'), 'ja'],
      { length: 2, 0: 'en', 1: 'de' },
      { length: 3, 1: 'it' },
      [{ toString: () => 'pt-BR' }],
      ['en', 'not a tag'],
      [5],
      [null],
      5,
      null,
    ];
    for (const l of lists) {
      assert.deepEqual(
        outcome(() => Intl.getCanonicalLocales(localeList(l) as string[])),
        outcome(() => Intl.getCanonicalLocales(l as string[])),
        String(l),
      );
    }
  });

  it(`a locale list of more than ${MAX_LOCALES} entries is refused`, () => {
    assert.equal(
      (localeList(Array.from({ length: MAX_LOCALES }, () => 'en')) as unknown[]).length,
      MAX_LOCALES,
    );
    assert.throws(() => localeList(Array.from({ length: MAX_LOCALES + 1 }, () => 'en')), RangeError);
  });
});
