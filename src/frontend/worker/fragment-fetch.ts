/**
 * Fetching one fragment for outpost/fragments (fragments.ts): through the edge cache for its
 * TTL, bounded by its timeout, never rejecting. What comes back says what happened, so the
 * caller decides between the body and a fallback and can report each fragment.
 *
 * Only standard Workers APIs: `fetch` with `cf.cacheTtl` caches the answer in the data center's
 * cache for that many seconds whatever the origin's headers say (statuses 200, 206, 301, 302,
 * 303, 404 and 410; errors are not forced into the cache; 0 stores it already expired, so every
 * use revalidates with the origin) —
 * https://developers.cloudflare.com/workers/runtime-apis/request/#the-cf-property-requestinitcfproperties
 * and docs/cache.md#fetch-subrequests-from-workers for Outpost's side. The response's
 * `cf-cache-status` says whether it came from that cache.
 *
 * The body is read as text: HTMLRewriter content is a string in Outpost (html-rewriter-wasm);
 * Workers also takes a Response or ReadableStream as content since 2025
 * (https://developers.cloudflare.com/changelog/2025-01-31-html-rewriter-streaming), which this
 * library does not rely on, so it runs the same on both.
 */

/** How a fragment's fetch ended. */
export type FragmentOutcome =
  /** A 2xx answer; its body is used. */
  | 'ok'
  /** The timeout passed before the whole body arrived. */
  | 'timeout'
  /** A non-2xx answer (its status is in `status`). */
  | 'status'
  /** fetch() threw: network error, refused address, too many subrequests, a bad URL. */
  | 'error'
  /** The key was not usable (bad characters for the default URL, or `resolve` threw). */
  | 'invalid'
  /** Not fetched: the page already had `maxFragments` fetches. */
  | 'limit';

/** What became of one fragment, as `onSettled` and the summary header report it. */
export interface FragmentReport {
  key: string;
  /** The URL fetched, when one was made. */
  url?: string;
  /** The edge TTL asked for (cf.cacheTtl), in seconds. */
  ttl: number;
  outcome: FragmentOutcome;
  /** The HTTP status, when an answer came. */
  status?: number;
  /** `cf-cache-status` of the answer, lower case (hit, miss, expired, revalidated, dynamic…). */
  cache?: string;
  /** Milliseconds from the fetch's start to its end (Workers' clock moves only across I/O). */
  ms: number;
  /** Why, for `error` and `invalid`. */
  error?: string;
}

/** A report and, when the outcome is `ok`, the body. */
export interface Fetched extends FragmentReport {
  body?: string;
}

/** Everything needed to fetch one fragment. */
export interface FragmentRequest {
  key: string;
  target: string | URL | Request;
  ttl: number;
  timeoutMs: number;
  init?: RequestInit<RequestInitCfProperties>;
}

/** Fetch one fragment; resolves (never rejects) once it has a body or has failed. */
export async function fetchFragment(req: FragmentRequest): Promise<Fetched> {
  const started = Date.now();
  const url = req.target instanceof Request ? req.target.url : String(req.target);
  const base = { key: req.key, url, ttl: req.ttl };
  const controller = new AbortController();
  const outer = req.init?.signal;
  if (outer) {
    if (outer.aborted) controller.abort(outer.reason);
    else outer.addEventListener('abort', () => controller.abort(outer.reason));
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<Fetched>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`fragment "${req.key}" timed out after ${req.timeoutMs} ms`));
      resolve({ ...base, outcome: 'timeout', ms: Date.now() - started });
    }, req.timeoutMs);
  });
  const work = (async (): Promise<Fetched> => {
    const res = await fetch(req.target, {
      ...req.init,
      signal: controller.signal,
      cf: { ...req.init?.cf, cacheTtl: req.ttl },
    });
    const cache = res.headers.get('cf-cache-status')?.toLowerCase() || undefined;
    const answered = { ...base, status: res.status, cache };
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      return { ...answered, outcome: 'status', ms: Date.now() - started };
    }
    const body = await res.text();
    return { ...answered, outcome: 'ok', body, ms: Date.now() - started };
  })().catch((err: unknown) => ({
    ...base,
    outcome: 'error' as const,
    ms: Date.now() - started,
    error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  }));
  try {
    // The race decides: an answer that ends after the timeout is not used even if abort()
    // did not stop it.
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
