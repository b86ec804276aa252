// The host side of Rate Limiting bindings with what tenant code could send through the binding
// syscall directly: only a string key of bounded length is counted, and a binding's namespace
// is its account's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BindingOf } from '../../config/index.ts';
import { RateLimiter } from '../../security/ratelimit/index.ts';
import { NamedError } from '../bridge/named-error.ts';
import type { IsolateOwner } from '../bridge/syscalls.ts';
import type { WorkerVersion } from '../types.ts';
import { MAX_RATE_LIMIT_KEY, rateLimitBinding } from './ratelimit.ts';
import type { WireContext } from './types.ts';

const limiter = new RateLimiter({ now: () => 1_000 });
const owner = {} as IsolateOwner;

function connect(account: string, namespaceId = '1001') {
  const version = { tenant: 'shop', account } as unknown as WorkerVersion;
  const wire = { version, rateLimiter: () => limiter } as unknown as WireContext;
  const ops = rateLimitBinding.connect(
    {
      type: 'ratelimit',
      key: 'ratelimits[0]',
      binding: 'LIMITER',
      namespaceId,
      limit: 2,
      periodSec: 60,
    } as BindingOf<'ratelimit'>,
    wire,
  );
  assert.ok(ops);
  return (key: unknown) => ops.limit(owner, {}, [key]);
}

describe('ratelimit binding, host side', () => {
  it('counts string keys in the account’s namespace', () => {
    const a = connect('acct-a');
    const b = connect('acct-b');
    assert.deepEqual([a('k'), a('k'), a('k')], [{ success: true }, { success: true }, { success: false }]);
    assert.deepEqual(b('k'), { success: true });
    assert.deepEqual(connect('acct-a')('k'), { success: false });
    assert.deepEqual(connect('acct-a', '1002')('k'), { success: true });
  });

  it('refuses anything but a string key of bounded length, as a TypeError', () => {
    const limit = connect('acct-c');
    for (const bad of [
      42,
      null,
      undefined,
      { toString: () => 'k' },
      ['k'],
      'x'.repeat(MAX_RATE_LIMIT_KEY + 1),
    ])
      assert.throws(
        () => limit(bad),
        (e: unknown) =>
          e instanceof NamedError && e.name === 'TypeError' && /rate limit call: key/.test(e.message),
      );
  });
});
