/**
 * Header access for the cache semantics: responses and requests are seen as flat
 * `[name, value, ...]` lists with lower-case names (the PoP's and runtime's format).
 */
export type Flat = readonly string[];

/** Every value of a header, in order. */
export function all(headers: Flat, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) out.push(headers[i + 1]);
  return out;
}

/** The first value of a header, or undefined. */
export function first(headers: Flat, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/** The comma-separated list a header forms (RFC 9110 §5.3: field lines combine with commas). */
export function list(headers: Flat, name: string): string[] {
  return all(headers, name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

export { httpDate } from './date.ts';
