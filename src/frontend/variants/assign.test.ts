import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExperiments } from '../../config/index.ts';
import { applyVariants, assignVariants, VARIANT_HEADER } from './assign.ts';

const experiments = parseExperiments(
  [
    { name: 'checkout', paths: ['/checkout/*'], variants: { control: 90, redesign: 10 } },
    { name: 'hero', variants: { a: 1, b: 1 }, cookie: 'hero_ab', max_age: 60 },
  ],
  'outpost.toml',
);

describe('A/B variants', () => {
  it('draws by weight, and a valid cookie keeps its variant', () => {
    let n = 0;
    for (let i = 0; i < 1000; i++)
      if (assignVariants(experiments, '/checkout/pay', undefined)[0].variant === 'redesign') n++;
    assert.ok(n > 50 && n < 170, `redesign drawn ${n} times of 1000 at weight 10%`);
    const kept = assignVariants(experiments, '/checkout/pay', 'x=1; outpost_ab_checkout=redesign; hero_ab=b');
    assert.deepEqual(
      kept.map((a) => [a.experiment, a.variant, a.setCookie]),
      [
        ['checkout', 'redesign', null],
        ['hero', 'b', null],
      ],
    );
  });

  it('an unknown variant in the cookie is replaced, with a cookie that says so', () => {
    const [, hero] = assignVariants(experiments, '/checkout/', 'hero_ab=zzz', {
      secure: true,
      random: () => 0.9,
    });
    assert.equal(hero.variant, 'b');
    assert.equal(hero.setCookie, 'hero_ab=b; Path=/; Max-Age=60; SameSite=Lax; Secure');
  });

  it('only the experiments whose paths match apply', () => {
    assert.deepEqual(
      assignVariants(experiments, '/about', 'hero_ab=a').map((a) => a.experiment),
      ['hero'],
    );
  });

  it("the client's Outpost-Variant is removed before the PoP sets its own", () => {
    const headers = [
      'Outpost-Variant',
      'checkout=redesign',
      'cookie',
      'outpost_ab_checkout=control; hero_ab=a',
    ];
    const cookies = applyVariants(headers, experiments, '/checkout/x', false);
    assert.deepEqual(cookies, []);
    assert.deepEqual(headers, [
      'cookie',
      'outpost_ab_checkout=control; hero_ab=a',
      VARIANT_HEADER,
      'checkout=control, hero=a',
    ]);
  });

  it('config errors name the key', () => {
    assert.throws(
      () => parseExperiments([{ name: 'x', variants: { only: 1 } }], 'outpost.toml'),
      /experiments\[0\]\.variants" must be a table of at least two variants/,
    );
    assert.throws(
      () => parseExperiments([{ name: 'x', variants: { a: 1, b: 0 } }], 'outpost.toml'),
      /experiments\[0\]\.variants\.b" must be a positive weight/,
    );
    assert.throws(
      () =>
        parseExperiments(
          [
            { name: 'x', variants: { a: 1, b: 1 }, cookie: 'c' },
            { name: 'y', variants: { a: 1, b: 1 }, cookie: 'c' },
          ],
          'outpost.toml',
        ),
      /experiments\[1\]\.cookie" must be a cookie no other experiment uses/,
    );
  });
});
