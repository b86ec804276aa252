export {
  EARLY_HINTS_CACHE_DEFAULTS,
  EarlyHintsCache,
  type EarlyHintsCacheOptions,
  hintsKey,
} from './cache.ts';
export {
  EARLY_HINT_EXTENSIONS,
  EARLY_HINT_RELS,
  EARLY_HINT_STATUSES,
  earlyHintLinks,
  type HeaderInput,
  type HintRequest,
  hintsFromResponse,
  linkFieldValues,
  pathExtension,
  type WantsHintsOptions,
  wantsEarlyHints,
} from './eligibility.ts';
export {
  formatLink,
  type Link,
  type LinkParam,
  linkParam,
  mergeLinks,
  parseLinkFields,
  parseLinkHeader,
  relTypes,
} from './link.ts';
export { BuildManifestError, type PreloadKind, preloadKind } from './preload.ts';
export {
  type ManifestRoute,
  type RoutePreload,
  type RoutePreloadOptions,
  type RoutePreloads,
  routePreloads,
} from './routes.ts';
export {
  checkViteManifest,
  type ManifestPreloadOptions,
  preloadsFromViteManifest,
  type ViteManifestChunk,
} from './vite.ts';
export { preloadsFromWebpackStats, type WebpackPreloadOptions } from './webpack.ts';
