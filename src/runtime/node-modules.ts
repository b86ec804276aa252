/**
 * The Node.js modules Outpost provides under `nodejs_compat` (as `node:x` or bare `x`). Shared
 * by the bundler (which leaves them external), the extension builder and the isolate's module
 * loader; plain data, so it runs in both places.
 */
export const NODE_MODULES = [
  'async_hooks',
  'buffer',
  'crypto',
  'events',
  'process',
  'stream',
  'string_decoder',
  'util',
] as const;
