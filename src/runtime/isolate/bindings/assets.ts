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
      return responseFromCrossing(
        await callBinding('assets', name, 'fetch', ...(await crossingRequest(input, init))),
      );
    },
  });
}
