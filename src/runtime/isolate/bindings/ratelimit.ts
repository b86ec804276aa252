/**
 * Workers Rate Limiting bindings (https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/):
 * `await env.NAME.limit({ key })` resolves to `{ success }`, false once the key has used the
 * binding's limit in the current period. The options are checked here, naming what was wrong
 * (a TypeError, as Cloudflare's binding refuses a key that is not a string); the count is kept
 * on the host (../../bindings/ratelimit.ts), which checks the key again.
 */
import { callBinding } from '../bridge.ts';

/** As src/runtime/bindings/ratelimit.ts (checked again on the host). */
const MAX_KEY = 65_536;

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

export class RateLimit {
  readonly #binding: string;

  constructor(binding: string) {
    this.#binding = binding;
  }

  async limit(options?: unknown): Promise<{ success: boolean }> {
    if (options === null || typeof options !== 'object' || Array.isArray(options))
      throw new TypeError(
        `RateLimit.limit(): expected an options object { key: string }, received ${kind(options)}`,
      );
    const key = (options as { key?: unknown }).key;
    if (typeof key !== 'string')
      throw new TypeError(`RateLimit.limit(): options.key must be a string, received ${kind(key)}`);
    if (key.length > MAX_KEY)
      throw new TypeError(`RateLimit.limit(): options.key must be at most ${MAX_KEY} characters long`);
    const { success } = await callBinding('ratelimit', this.#binding, 'limit', key);
    return { success };
  }

  get [Symbol.toStringTag](): string {
    return 'RateLimit';
  }
}
