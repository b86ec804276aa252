import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWafConfig, WAF_DEFAULTS, WafConfigError } from './config.ts';

const K = 'security.waf';

describe('WAF config ([security.waf])', () => {
  it('gives the defaults for an absent or empty table', () => {
    for (const raw of [undefined, {}]) {
      const c = parseWafConfig(raw, K);
      assert.deepEqual(c, {
        mode: 'block',
        paranoia: 1,
        threshold: 5,
        inspectBodyBytes: 131072,
        revealRuleId: false,
        sanitize: false,
        rules: [],
        exclusions: [],
      });
    }
    assert.equal(WAF_DEFAULTS.threshold, 5);
  });

  it('maps snake_case keys to the config fields', () => {
    const c = parseWafConfig(
      {
        mode: 'log',
        paranoia: 3,
        threshold: 10,
        inspect_body_bytes: 4096,
        reveal_rule_id: true,
        sanitize: true,
        rules: [
          { id: 'block-internal', parts: ['path'], pattern: '^/internal/', score: 5, description: 'no' },
        ],
        exclusions: [{ path: '/api/paste/*', rules: ['sqli', '942100', 'block-internal'], parts: ['body'] }],
      },
      K,
    );
    assert.equal(c.mode, 'log');
    assert.equal(c.paranoia, 3);
    assert.equal(c.threshold, 10);
    assert.equal(c.inspectBodyBytes, 4096);
    assert.equal(c.revealRuleId, true);
    assert.equal(c.sanitize, true);
    assert.deepEqual(c.rules, [
      {
        id: 'block-internal',
        parts: ['path'],
        pattern: '^/internal/',
        score: 5,
        category: 'custom',
        description: 'no',
      },
    ]);
    assert.deepEqual(c.exclusions, [
      { path: '/api/paste/*', rules: ['sqli', '942100', 'block-internal'], parts: ['body'] },
    ]);
  });

  it('a custom rule without parts applies to every part', () => {
    const c = parseWafConfig({ rules: [{ id: 'x', pattern: 'evil', score: 2, category: 'abuse' }] }, K);
    assert.deepEqual(c.rules[0].parts, ['path', 'query', 'headers', 'cookies', 'body', 'user_agent']);
    assert.equal(c.rules[0].category, 'abuse');
  });

  it('names the offending key and what was expected', () => {
    const cases: [unknown, string | RegExp][] = [
      [{ paranoia: 7 }, 'security.waf.paranoia: expected 1, 2, 3 or 4, received 7'],
      [{ paranoia: '2' }, 'security.waf.paranoia: expected 1, 2, 3 or 4, received "2"'],
      [{ mode: 'deny' }, 'security.waf.mode: expected "block" or "log", received "deny"'],
      [{ threshold: 0 }, 'security.waf.threshold: expected an integer from 1 to 10000, received 0'],
      [{ threshold: 2.5 }, /security\.waf\.threshold: expected an integer/],
      [
        { inspect_body_bytes: -1 },
        /security\.waf\.inspect_body_bytes: expected an integer from 0 to 16777216, received -1/,
      ],
      [{ reveal_rule_id: 'yes' }, 'security.waf.reveal_rule_id: expected true or false, received "yes"'],
      [{ sanitize: 1 }, 'security.waf.sanitize: expected true or false, received 1'],
      [{ paranoia_level: 2 }, /^security\.waf\.paranoia_level: unknown key \(known: mode, paranoia/],
      [{ rules: {} }, /security\.waf\.rules: expected an array of tables/],
      [
        { rules: [{ id: 'a', pattern: '(', score: 5 }] },
        /^security\.waf\.rules\[0\]\.pattern: expected a valid regular expression, received "\(" \(Invalid regular expression/,
      ],
      [
        { rules: [{ id: 'a', pattern: '(a+)+$', score: 5 }] },
        /security\.waf\.rules\[0\]\.pattern: expected a regular expression without a quantified group ending in a quantifier/,
      ],
      [
        { rules: [{ id: 'a', pattern: '', score: 5 }] },
        /security\.waf\.rules\[0\]\.pattern: expected a regular expression of 1 to 2000 characters/,
      ],
      [
        { rules: [{ id: 'a', pattern: 'x' }] },
        'security.waf.rules[0].score: expected an integer from 0 to 1000, received nothing (the key is required)',
      ],
      [
        { rules: [{ id: 'a', pattern: 'x', score: 5, parts: ['url'] }] },
        'security.waf.rules[0].parts[0]: expected one of path, query, headers, cookies, body, user_agent, received "url"',
      ],
      [
        { rules: [{ id: 'a', pattern: 'x', score: 5, parts: [] }] },
        /security\.waf\.rules\[0\]\.parts: expected a non-empty array of parts/,
      ],
      [
        { rules: [{ id: '942100', pattern: 'x', score: 5 }] },
        'security.waf.rules[0].id: expected an id no shipped rule has, received "942100"',
      ],
      [
        {
          rules: [
            { id: 'a', pattern: 'x', score: 5 },
            { id: 'a', pattern: 'y', score: 5 },
          ],
        },
        'security.waf.rules[1].id: expected an id no other custom rule has, received "a"',
      ],
      [
        { rules: [{ id: 'a b', pattern: 'x', score: 5 }] },
        /security\.waf\.rules\[0\]\.id: expected a rule id/,
      ],
      [
        { rules: [{ id: 'a', pattern: 'x', score: 5, severity: 'high' }] },
        /^security\.waf\.rules\[0\]\.severity: unknown key/,
      ],
      [
        { rules: [{ id: 'a', pattern: 'x', score: 5, category: 'Bad Cat' }] },
        /security\.waf\.rules\[0\]\.category: expected a category name/,
      ],
      [
        { exclusions: [{ path: 'api/*', rules: ['sqli'] }] },
        /security\.waf\.exclusions\[0\]\.path: expected a path pattern starting with "\/"/,
      ],
      [
        { exclusions: [{ path: '/api/*', rules: [] }] },
        /security\.waf\.exclusions\[0\]\.rules: expected a non-empty array/,
      ],
      [
        { exclusions: [{ path: '/api/*', rules: ['942999'] }] },
        'security.waf.exclusions[0].rules[0]: expected the id of a rule, a category (sqli, xss, …) or "*", received "942999"',
      ],
      [
        { exclusions: [{ path: '/api/*', rules: ['sqli'], parts: ['uri'] }] },
        /security\.waf\.exclusions\[0\]\.parts\[0\]: expected one of/,
      ],
      [
        { exclusions: [{ path: '/api/*', rule: ['sqli'] }] },
        /^security\.waf\.exclusions\[0\]\.rule: unknown key/,
      ],
      [[], 'security.waf: expected a table, received an array'],
      [null, 'security.waf: expected a table, received null'],
    ];
    for (const [raw, message] of cases) {
      assert.throws(
        () => parseWafConfig(raw, K),
        (err: unknown) => {
          assert.ok(err instanceof WafConfigError, `not a WafConfigError for ${JSON.stringify(raw)}`);
          if (typeof message === 'string') assert.equal(err.message, message);
          else assert.match(err.message, message);
          return true;
        },
      );
    }
  });

  it('names keys under the prefix it is given', () => {
    assert.throws(() => parseWafConfig({ paranoia: 9 }, 'waf'), { message: /^waf\.paranoia: / });
  });
});
