/**
 * Handing a response fetched for one request to another request waiting on the same key
 * (request coalescing). That is a use of the response by a shared cache, so it is allowed only
 * where the cache could have stored the response (§3, decided by the caller) and then used the
 * stored response for the waiting request:
 * - the waiter's values of the fields the response varies on match the request that fetched
 *   it (§4.1; `Vary: *` matches nothing);
 * - a waiter that sends Authorization gets it only when the response is explicitly shareable
 *   (§3.5: public, s-maxage or must-revalidate): the origin has not seen that waiter's
 *   credentials, and may answer them differently.
 * Everything else (private, no-store, Set-Cookie, an Authorization answer without those
 * directives) is not storable and so never shared.
 */
import type { Directives } from './cache-control.ts';
import { type Flat, first } from './headers.ts';
import { sharedDespiteAuthorization } from './storable.ts';
import { varyMatches } from './vary.ts';

export function mayShareWith(
  vary: Record<string, string | null> | '*',
  response: Directives,
  waiterHeaders: Flat,
): boolean {
  if (!varyMatches(vary, waiterHeaders)) return false;
  if (first(waiterHeaders, 'authorization') !== undefined && !sharedDespiteAuthorization(response))
    return false;
  return true;
}
