/**
 * Lists of strings from the isolate (header pairs, WebSocket protocols, KV keys, tags), checked
 * without walking further than a bound. An array copied out of an isolate keeps its `length`:
 * a sparse `[]` with `length = 2 ** 32 - 2` crosses in a few bytes, and `some()`/`map()` on it
 * then visit four billion holes on the host's main thread (minutes, every tenant waiting). A
 * worker can hand one over through the public APIs, e.g. as its own `map` on the protocols
 * array given to `new WebSocket()`. Holes are refused too: they read as undefined, not strings.
 */
export function isStringList(v: unknown, max: number, pairs = false): v is string[] {
  if (!Array.isArray(v) || v.length > max || (pairs && v.length % 2 !== 0)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}

/** Header fields a call may carry, as flat name/value pairs (Node's own default is 2,000 fields). */
export const MAX_HEADER_LIST = 2 * 2000;
