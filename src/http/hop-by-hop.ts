/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): the connection-level fields, and every field a message's
 * Connection header names, belong to one connection and are removed by anything that forwards
 * the message — the PoP taking a client's request to a worker, a cache or an origin, a worker's
 * subrequest leaving, an origin's or a worker's response going back to the client. One list and
 * one rule for every one of those places (src/pop/, src/runtime/bridge/).
 */

/** Connection-level fields that never cross a proxy. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
]);

const NONE: ReadonlySet<string> = new Set();

/** The field names a Connection field's value lists, lower-cased (`close`/`keep-alive` name none that matter). */
export function connectionListed(value: string | readonly string[] | undefined): ReadonlySet<string> {
  const v = Array.isArray(value) ? value.join(',') : ((value as string | undefined) ?? '');
  // The common values, on every request: nothing to allocate.
  if (v === '' || v === 'keep-alive' || v === 'close' || v === 'Keep-Alive') return NONE;
  const out = new Set<string>();
  for (const token of v.split(',')) {
    const t = token.trim().toLowerCase();
    if (t) out.add(t);
  }
  return out;
}

/**
 * A flat [name, value, …] list without its hop-by-hop fields: the fixed ones and those its own
 * Connection fields name. Names are compared lower-cased and kept as they were; `keep` names
 * fields kept anyway (a WebSocket upgrade's `upgrade`).
 */
export function withoutHopByHop(flat: readonly string[], keep?: ReadonlySet<string>): string[] {
  let listed: Set<string> | null = null;
  for (let i = 0; i < flat.length; i += 2)
    if (flat[i].toLowerCase() === 'connection') {
      listed ??= new Set();
      for (const n of connectionListed(flat[i + 1])) (listed as Set<string>).add(n);
    }
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const n = flat[i].toLowerCase();
    if (keep?.has(n) || (!HOP_BY_HOP.has(n) && !listed?.has(n))) out.push(flat[i], flat[i + 1]);
  }
  return out;
}
