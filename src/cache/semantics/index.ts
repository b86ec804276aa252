/** RFC 9111 cache semantics as pure functions: no storage, no I/O, no clock of their own. */
export { type Directives, EDGE_ONLY_HEADERS, edgeDirectives, parseCacheControl } from './cache-control.ts';
export {
  ageHeader,
  currentAge,
  currentAgeOf,
  freshnessLifetime,
  HEURISTIC_STATUSES,
  neverStale,
  requestAcceptsStale,
  responseDate,
  type Usability,
  usability,
} from './freshness.ts';
export { all, first, httpDate, list } from './headers.ts';
export { invalidatedUrls } from './invalidation.ts';
export { mayShareWith } from './sharing.ts';
export { type StoreDecision, setsUnkeptCookie, sharedDespiteAuthorization, storable } from './storable.ts';
export { clientNotModified, conditionalHeaders, freshen, notModifiedMatches } from './validation.ts';
export { varyKey, varyMatches } from './vary.ts';
