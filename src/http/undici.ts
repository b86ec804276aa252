/**
 * undici (the HTTP client of fetch() subrequests, origins, shields and peers), loaded on first
 * use. Loading it made every process start ~25 ms slower (measured: a node's spawn to first
 * response), counting node:http2 and Node's own fetch classes that it loads in turn, while a
 * process that never sends a subrequest never needs it. The first request that does pays that
 * once. Import types from 'undici' as usual; values only through here (a value import anywhere
 * would load it at start again).
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

let loaded: typeof Undici | null = null;

export function undici(): typeof Undici {
  if (loaded === null)
    // `require` exists in the built bundle (CommonJS), which then keeps undici inside it;
    // running from the TypeScript sources (ES modules) it does not.
    loaded = (
      typeof require === 'function' ? require('undici') : createRequire(import.meta.url)('undici')
    ) as typeof Undici;
  return loaded;
}
