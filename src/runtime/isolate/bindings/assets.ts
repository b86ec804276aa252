/**
 * The assets binding (`env.ASSETS`, https://developers.cloudflare.com/workers/static-assets/binding/):
 * a Fetcher whose `fetch()` answers from the worker's assets directory as a request to the
 * site would, with the project's html_handling and not_found_handling (404 when nothing matches).
 */
import { callBinding } from '../bridge.ts';
import type { Response } from '../response.ts';
import { crossingRequest, responseFromCrossing } from './crossing.ts';

export function assetsBinding(name: string): object {
  return Object.freeze({
    async fetch(input: unknown, init?: Record<string, unknown>): Promise<Response> {
      // By index, not spread: a spread runs the array iterator, which tenant code may replace.
      const r = await crossingRequest(input, init);
      return responseFromCrossing(await callBinding('assets', name, 'fetch', r[0], r[1], r[2], r[3]));
    },
  });
}
