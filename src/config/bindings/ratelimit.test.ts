// ratelimits in wrangler.toml and wrangler.json: Cloudflare's shape, and a bad entry is an
// error naming its key.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../load.ts';
import { bindingsOf } from '../types.ts';

function load(name: string, text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-ratelimit-config-'));
  writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'w.js'), '');
  return loadConfig(dir, { warn: () => {} });
}

const TOML = `name = "w"
main = "w.js"

[[ratelimits]]
name = "MY_RATE_LIMITER"
namespace_id = "1001"
  [ratelimits.simple]
  limit = 100
  period = 60

[[ratelimits]]
name = "BURST"
namespace_id = 7
simple = { limit = 5, period = 10 }
`;

describe('ratelimits', () => {
  it('reads TOML and JSON as Cloudflare documents them; no longer an unsupported binding', () => {
    const expected = [
      {
        binding: 'MY_RATE_LIMITER',
        namespaceId: '1001',
        limit: 100,
        periodSec: 60,
        type: 'ratelimit',
        key: 'ratelimits[0]',
      },
      {
        binding: 'BURST',
        namespaceId: '7',
        limit: 5,
        periodSec: 10,
        type: 'ratelimit',
        key: 'ratelimits[1]',
      },
    ];
    const toml = load('wrangler.toml', TOML);
    assert.deepEqual(bindingsOf(toml.bindings, 'ratelimit'), expected);
    assert.deepEqual(bindingsOf(toml.bindings, 'unsupported'), []);
    const json = load(
      'wrangler.json',
      JSON.stringify({
        name: 'w',
        main: 'w.js',
        ratelimits: [
          { name: 'MY_RATE_LIMITER', namespace_id: '1001', simple: { limit: 100, period: 60 } },
          { name: 'BURST', namespace_id: 7, simple: { limit: 5, period: 10 } },
        ],
      }),
    );
    assert.deepEqual(bindingsOf(json.bindings, 'ratelimit'), expected);
  });

  it('names the bad key and what was expected', () => {
    const bad = (entry: string, message: string) =>
      assert.throws(
        () => load('wrangler.toml', `name = "w"\nmain = "w.js"\nratelimits = ${entry}`),
        (e: Error) => e.message.includes(message) || assert.fail(`${message}\n  got: ${e.message}`),
      );
    const ok = 'name = "RL", namespace_id = "1"';
    bad(
      `[{ ${ok}, simple = { limit = 100, period = 30 } }]`,
      '"ratelimits[0].simple.period" must be 10 or 60',
    );
    bad(
      `[{ ${ok}, simple = { limit = 100, period = 30 } }]`,
      'must be 10 or 60 (seconds, as Cloudflare allows), received number 30',
    );
    bad(
      `[{ ${ok}, simple = { limit = 0, period = 60 } }]`,
      '"ratelimits[0].simple.limit" must be an integer',
    );
    bad(`[{ ${ok}, simple = { limit = "ten", period = 60 } }]`, 'received "ten"');
    bad(
      `[{ ${ok}, simple = { limit = 1000001, period = 60 } }]`,
      '"ratelimits[0].simple.limit" must be an integer from 1 to 1000000',
    );
    bad(`[{ ${ok}, simple = { period = 60 } }]`, '"ratelimits[0].simple.limit"');
    bad(
      `[{ ${ok}, simple = { limit = 1, period = 60, burst = 2 } }]`,
      '"ratelimits[0].simple.burst" must be absent',
    );
    bad(`[{ ${ok} }]`, '"ratelimits[0].simple" must be a table');
    bad(
      `[{ name = "RL", simple = { limit = 1, period = 60 } }]`,
      '"ratelimits[0].namespace_id" must be an integer',
    );
    bad(
      `[{ name = "RL", namespace_id = "abc", simple = { limit = 1, period = 60 } }]`,
      '"ratelimits[0].namespace_id" must be an integer',
    );
    bad(
      `[{ name = "RL", namespace_id = "1/2", simple = { limit = 1, period = 60 } }]`,
      '"ratelimits[0].namespace_id"',
    );
    bad(
      `[{ name = "my limiter", namespace_id = "1", simple = { limit = 1, period = 60 } }]`,
      '"ratelimits[0].name" must be a JavaScript identifier',
    );
    bad(
      `[{ ${ok}, simple = { limit = 1, period = 60 }, type = "x" }]`,
      '"ratelimits[0].type" must be absent',
    );
    bad('{ name = "RL" }', '"ratelimits" must be an array');
    bad('["RL"]', '"ratelimits[0]" must be a table');
  });
});
