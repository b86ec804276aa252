/**
 * The Node.js modules Outpost provides under `nodejs_compat` (as `node:x` or bare `x`). Shared
 * by the bundler (which leaves them external), the extension builder and the isolate's module
 * loader; plain data, so it runs in both places.
 */
export const NODE_MODULES = [
  'assert',
  'async_hooks',
  'buffer',
  'crypto',
  'events',
  'fs',
  'http',
  'https',
  'net',
  'path',
  'process',
  'querystring',
  'stream',
  'string_decoder',
  'tls',
  'url',
  'util',
  'zlib',
] as const;
