/**
 * `sanitize = true`: a request that would be blocked is forwarded with the offending values
 * blanked instead, when every match is in a query parameter, a form field or a JSON string
 * value and the rewrite is safe:
 *   - query and form: a matching value becomes empty (`q=' or 1=1` → `q=`); a matching name
 *     removes its whole pair; other pairs are kept byte for byte;
 *   - JSON: a matching string value becomes `""` in place (the rest of the text untouched, so
 *     duplicate keys stay as sent);
 * and otherwise (undefined: block as usual):
 *   - a match in the path, a header, a cookie or the user agent;
 *   - a JSON key (removing a member from raw text is not a rewrite this file trusts);
 *   - multipart and text bodies (no parameters to blank; rewriting multipart means re-framing
 *     parts whose parsing differs between servers);
 *   - a body longer than `inspect_body_bytes` (its uninspected rest would be forwarded) or not
 *     valid UTF-8 (re-encoding would change bytes the match did not cover).
 * Blanking covers the whole value as Outpost split it, which is never less than an
 * application that splits on more separators (`;` too) would see.
 */
import type { Extracted, Item, Pair } from './extract.ts';

function rebuildPairs(text: string, pairs: Pair[], blankValue: Set<number>, drop: Set<number>): string {
  const out: string[] = [];
  pairs.forEach((p, i) => {
    if (drop.has(i)) return;
    out.push(blankValue.has(i) ? text.slice(p.start, p.valueStart) : text.slice(p.start, p.end));
  });
  return out.join('&');
}

/** The rewritten query and body, or undefined when the hits cannot all be blanked safely. */
export function sanitizeHits(
  query: string,
  ex: Extracted,
  hits: Item[],
): { query?: string; body?: Uint8Array } | undefined {
  const q = { blank: new Set<number>(), drop: new Set<number>() };
  const form = { blank: new Set<number>(), drop: new Set<number>() };
  const json: { start: number; end: number }[] = [];
  for (const item of hits) {
    const loc = item.loc;
    if (!loc) return undefined;
    if (loc.kind === 'query') (item.isKey ? q.drop : q.blank).add(loc.pair);
    else {
      if (ex.bodyTruncated || !ex.bodyLossless) return undefined;
      if (loc.kind === 'form') (item.isKey ? form.drop : form.blank).add(loc.pair);
      else if (item.isKey) return undefined;
      else json.push({ start: loc.start, end: loc.end });
    }
  }
  const result: { query?: string; body?: Uint8Array } = {};
  if (q.blank.size + q.drop.size > 0) result.query = rebuildPairs(query, ex.queryPairs, q.blank, q.drop);
  if (form.blank.size + form.drop.size > 0)
    result.body = new TextEncoder().encode(rebuildPairs(ex.bodyText, ex.bodyPairs, form.blank, form.drop));
  if (json.length > 0) {
    const ranges = [...new Map(json.map((r) => [r.start, r])).values()].sort((a, b) => b.start - a.start);
    let text = ex.bodyText;
    for (const r of ranges) text = `${text.slice(0, r.start)}""${text.slice(r.end)}`;
    result.body = new TextEncoder().encode(text);
  }
  return result;
}
