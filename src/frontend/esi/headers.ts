// Header fields as the caller has them: a Fetch `Headers`-like object, a lookup function, or a
// list of [name, value] pairs (Outpost's flat header lists). Names compare case-insensitively;
// repeated fields in a list are joined with ', ' (RFC 9110 §5.3), Cookie with '; ' (RFC 9113
// §8.2.3).

export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | ((name: string) => string | null | undefined)
  | Iterable<readonly [string, string]>;

export function headerLookup(src: HeaderSource | undefined | null): (name: string) => string | null {
  if (src == null) return () => null;
  if (typeof src === 'function') return (n) => src(n) ?? null;
  if (typeof (src as { get?: unknown }).get === 'function') {
    const h = src as { get(name: string): string | null | undefined };
    return (n) => h.get(n) ?? null;
  }
  const fields = new Map<string, string>();
  for (const [name, value] of src as Iterable<readonly [string, string]>) {
    const k = name.toLowerCase();
    const had = fields.get(k);
    fields.set(k, had === undefined ? value : `${had}${k === 'cookie' ? '; ' : ', '}${value}`);
  }
  return (n) => fields.get(n.toLowerCase()) ?? null;
}
