/**
 * Service bindings
 * (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/): a Fetcher
 * whose `fetch()` runs the target worker's fetch handler and whose other methods are RPC calls
 * to the target's WorkerEntrypoint. The host resolves the target by name at call time (so the
 * target can be redeployed independently).
 */
import { callBinding } from '../bridge.ts';
import type { Response } from '../response.ts';
import { crossingRequest, responseFromCrossing } from './crossing.ts';

/** Names a stub never treats as RPC methods (so `await stub` or inspection behave). */
const NOT_RPC = new Set(['then', 'constructor', 'toJSON', 'connect', 'dup']);

export function serviceBinding(name: string): object {
  const fetcher = {
    async fetch(input: unknown, init?: Record<string, unknown>): Promise<Response> {
      // By index, not spread: a spread runs the array iterator, which tenant code may replace.
      const r = await crossingRequest(input, init);
      const meta = await callBinding('service', name, 'fetch', r[0], r[1], r[2], r[3]);
      return responseFromCrossing(meta);
    },
  };
  return new Proxy(fetcher, {
    get(target, prop) {
      if (prop === 'fetch') return target.fetch;
      if (typeof prop !== 'string' || NOT_RPC.has(prop)) return undefined;
      return (...args: unknown[]) => callBinding('service', name, 'rpc', prop, args);
    },
  });
}
