/**
 * Workers Rate Limiting bindings (`ratelimits`), host side: each `limit({ key })` is one hit on
 * the runtime's RateLimiter (src/security/ratelimit/), in fixed windows aligned to the period,
 * as Cloudflare's binding counts. The isolate side (src/runtime/isolate/bindings/ratelimit.ts)
 * checks the argument with Cloudflare's rules; this side checks the key again, as tenant code
 * can call the syscall with anything.
 *
 * Counters belong to the account's namespace: two workers of one account binding the same
 * `namespace_id` share them (as on Cloudflare, where the id is unique in the account), and
 * another account's namespace of the same id is another one. The limit and period are the
 * binding's own: two bindings of one namespace with different limits each decide by theirs,
 * over the hits both counted (and different periods count apart).
 */
import type { RateLimitRule } from '../../security/ratelimit/index.ts';
import { NamedError } from '../bridge/named-error.ts';
import type { HostBinding } from './types.ts';

/** Longest key accepted (UTF-16 units); longer keys are counted under their digest anyway. */
export const MAX_RATE_LIMIT_KEY = 65_536;

/** The counters' namespace of `namespace_id` in `account`. */
export const rateLimitNamespace = (account: string, namespaceId: string) =>
  `ratelimits:${account}/${namespaceId}`;

export const rateLimitBinding: HostBinding<'ratelimit'> = {
  describe: () => ({ type: 'ratelimit' }),
  connect: (b, wire) => {
    const rule: RateLimitRule = { mode: 'fixed', limit: b.limit, periodSec: b.periodSec, shards: 1 };
    const namespace = rateLimitNamespace(wire.version.account, b.namespaceId);
    return {
      limit: (_o, _ctx, [key]) => {
        if (typeof key !== 'string' || key.length > MAX_RATE_LIMIT_KEY)
          throw new NamedError('invalid rate limit call: key', 'TypeError');
        return { success: wire.rateLimiter().hit(namespace, key, rule).allowed };
      },
    };
  },
};
