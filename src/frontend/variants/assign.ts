/**
 * A/B tests decided at the PoP (`[[experiments]]` in outpost.toml, src/config/experiments.ts):
 * the seed's edge A/B pattern, with the three things that make it safe to cache.
 *
 * - Sticky bucketing by cookie: a visitor with a valid bucket cookie keeps its variant; any
 *   other gets one drawn by weight and a cookie that keeps it (Set-Cookie on the response).
 * - One header says the decision to whatever answers: `Outpost-Variant: checkout=redesign,
 *   hero=b` reaches the worker and the origin. A client cannot send it: the PoP removes the
 *   client's before setting its own (a forged header would choose a bucket's cached page).
 * - Variant cache keys: every response the site's cache stores for a request that carries the
 *   header varies on it (`Vary: Outpost-Variant` added as it is stored, varyOnVariant), so a
 *   page made for one bucket is never served to another from cache, and a purge by URL still
 *   removes every variant (they are variants of one entry, RFC 9111 §4.1).
 */
import type { ExperimentConfig } from '../../config/index.ts';

export const VARIANT_HEADER = 'outpost-variant';

export interface Assignment {
  experiment: string;
  variant: string;
  /** Set-Cookie value when the visitor had no valid bucket yet. */
  setCookie: string | null;
}

/** The experiments that apply to a path, each with the visitor's variant. */
export function assignVariants(
  experiments: readonly ExperimentConfig[],
  pathname: string,
  cookieHeader: string | undefined,
  options: { secure: boolean; random?: () => number } = { secure: false },
): Assignment[] {
  const out: Assignment[] = [];
  let cookies: Map<string, string> | null = null;
  for (const e of experiments) {
    if (!e.patterns.some((p) => p.test(pathname))) continue;
    cookies ??= parseCookies(cookieHeader);
    const had = cookies.get(e.cookie);
    if (had !== undefined && e.variants.some((v) => v.name === had)) {
      out.push({ experiment: e.name, variant: had, setCookie: null });
      continue;
    }
    const variant = draw(e.variants, options.random ?? Math.random);
    const attrs = `Path=/; Max-Age=${e.maxAge}; SameSite=Lax${options.secure ? '; Secure' : ''}`;
    out.push({ experiment: e.name, variant, setCookie: `${e.cookie}=${variant}; ${attrs}` });
  }
  return out;
}

/** The Outpost-Variant value: `experiment=variant` pairs in experiment order. */
export function variantHeaderValue(assignments: readonly Assignment[]): string {
  return assignments.map((a) => `${a.experiment}=${a.variant}`).join(', ');
}

/**
 * Apply the experiments to a request's flat header list: the client's Outpost-Variant fields
 * removed, the PoP's set when any experiment applies. Returns the Set-Cookie values to send.
 */
export function applyVariants(
  headers: string[],
  experiments: readonly ExperimentConfig[],
  pathname: string,
  secure: boolean,
): string[] {
  let cookie: string | undefined;
  for (let i = 0; i < headers.length; ) {
    const n = headers[i].toLowerCase();
    if (n === VARIANT_HEADER) {
      headers.splice(i, 2);
      continue;
    }
    if (n === 'cookie') cookie = cookie === undefined ? headers[i + 1] : `${cookie}; ${headers[i + 1]}`;
    i += 2;
  }
  const assigned = assignVariants(experiments, pathname, cookie, { secure });
  if (assigned.length === 0) return [];
  headers.push(VARIANT_HEADER, variantHeaderValue(assigned));
  return assigned.flatMap((a) => (a.setCookie ? [a.setCookie] : []));
}

function draw(variants: readonly { name: string; weight: number }[], random: () => number): string {
  let total = 0;
  for (const v of variants) total += v.weight;
  let x = random() * total;
  for (const v of variants) {
    x -= v.weight;
    if (x < 0) return v.name;
  }
  return variants[variants.length - 1].name;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    // The first of two same-named cookies wins (RFC 6265 §5.4: the more specific path first).
    if (name && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}
