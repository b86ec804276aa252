/**
 * Workers Rate Limiting bindings in wrangler config, validated naming the key
 * (https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/):
 *
 *   [[ratelimits]]
 *   name = "MY_RATE_LIMITER"     # the binding's name on env
 *   namespace_id = "1001"        # an integer (Cloudflare: unique in the account), string or number
 *     [ratelimits.simple]
 *     limit = 100                # per period, per key
 *     period = 60                # seconds: 10 or 60, as Cloudflare allows
 *
 * Keys wrangler does not know are refused, as its schema does.
 */
import { ConfigError } from '../errors.ts';
import type { RateLimitBinding } from '../types.ts';
import { BINDING_NAME, isTable } from './name.ts';

/** The largest limit a rule takes (MAX_LIMIT of src/security/ratelimit/; config imports no other part). */
const MAX_LIMIT = 1_000_000;
const KEYS = new Set(['name', 'namespace_id', 'simple']);
const SIMPLE_KEYS = new Set(['limit', 'period']);
/** What namespace_id may be: a non-negative integer, as a string or a number. */
const NAMESPACE_ID = /^(0|[1-9][0-9]{0,18})$/;

export function parseRateLimits(file: string, raw: unknown): RateLimitBinding[] {
  if (raw === undefined) return [];
  const key = 'ratelimits';
  if (!Array.isArray(raw))
    throw new ConfigError(file, key, 'an array of { name, namespace_id, simple }', raw);
  return raw.map((b, i) => {
    const at = `${key}[${i}]`;
    if (!isTable(b))
      throw new ConfigError(
        file,
        at,
        'a table { name = "NAME", namespace_id = "1001", simple = { limit = 100, period = 60 } }',
        b,
      );
    for (const k of Object.keys(b))
      if (!KEYS.has(k))
        throw new ConfigError(
          file,
          `${at}.${k}`,
          'absent: a rate limit takes name, namespace_id and simple',
          b[k],
        );
    if (typeof b.name !== 'string' || !BINDING_NAME.test(b.name))
      throw new ConfigError(file, `${at}.name`, 'a JavaScript identifier', b.name);
    const id = typeof b.namespace_id === 'number' ? String(b.namespace_id) : b.namespace_id;
    if (typeof id !== 'string' || !NAMESPACE_ID.test(id))
      throw new ConfigError(
        file,
        `${at}.namespace_id`,
        'an integer identifying the namespace in the account, such as "1001"',
        b.namespace_id,
      );
    const simple = b.simple;
    if (!isTable(simple))
      throw new ConfigError(file, `${at}.simple`, 'a table { limit = 100, period = 60 }', simple);
    for (const k of Object.keys(simple))
      if (!SIMPLE_KEYS.has(k))
        throw new ConfigError(file, `${at}.simple.${k}`, 'absent: simple takes limit and period', simple[k]);
    const { limit, period } = simple;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
      throw new ConfigError(file, `${at}.simple.limit`, `an integer from 1 to ${MAX_LIMIT}`, limit);
    if (period !== 10 && period !== 60)
      throw new ConfigError(file, `${at}.simple.period`, '10 or 60 (seconds, as Cloudflare allows)', period);
    return { binding: b.name, namespaceId: id, limit, periodSec: period };
  });
}
