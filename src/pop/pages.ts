/**
 * What the PoP does for pages, between the answer (a worker's or the site's) and the client:
 *
 * - **103 Early Hints** (https://developers.cloudflare.com/cache/advanced-configuration/early-hints/):
 *   before the worker or the origin is asked, a GET for a page gets a 103 with the preload and
 *   preconnect Link values the page's last 200/301/302 carried (remembered per URL without its
 *   query) and those of its build manifest route (`[[early_hints.manifest]]`). Over HTTP/1.1
 *   too unless `http1 = false` (Cloudflare: HTTP/2+ only). An origin's own 103 still passes.
 * - **ESI** (https://www.w3.org/TR/esi-lang): a response with `Surrogate-Control:
 *   content="ESI/1.0"`, or on a path of `[esi] paths`, is assembled as it streams
 *   (src/frontend/esi/). Fragments are fetched as the PoP would answer them: a worker route
 *   runs its worker, anything else goes through the cache to the site's origin, cached by its
 *   own headers and the site's policies. Only the site's own hosts may be included: a worker's
 *   page cannot make the PoP fetch anywhere else (that would step around its egress policy).
 *   What is cached is the template; every request assembles it anew.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EarlyHintsConfig, EsiConfig } from '../config/index.ts';
import {
  EsiError,
  type FragmentFetcher,
  type FragmentResponse,
  processEsi,
  stripEsiContent,
  wantsEsi,
} from '../frontend/esi/index.ts';
import {
  EarlyHintsCache,
  hintsFromResponse,
  mergeLinks,
  type RoutePreloads,
  routePreloads,
  wantsEarlyHints,
} from '../frontend/hints/index.ts';
import { NO_TRACE, type Observer, recordHops, type TraceScope } from '../observability/index.ts';
import { type ChunkSource, fromAsyncIterable, type Runtime, type WorkerResponse } from '../runtime/index.ts';
import type { Site } from './site.ts';
import { ESI_MARK, siteFetch } from './site-serve.ts';

export interface PagesOptions {
  esi: EsiConfig;
  earlyHints: EarlyHintsConfig;
  observer: Observer;
  /** Reads a build manifest (JSON) for `[[early_hints.manifest]]`. */
  readManifest: (file: string) => unknown;
}

/** What a page's fragments are fetched with: the request the page answers, where it ran. */
export interface PageRequest {
  site: Site;
  runtime: Runtime;
  /** The worker that serves what no route matches (the default project). */
  fallback: string;
  url: URL;
  /** The page request's fields (cookies, language, variant…), passed on to fragments. */
  headers: string[];
  cf: Record<string, unknown>;
  scope: TraceScope | undefined;
}

/** Request fields a fragment request does not inherit from its page's. */
const NOT_FOR_FRAGMENTS = new Set([
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
  'content-length',
  'content-type',
]);

export class Pages {
  readonly #esi: EsiConfig;
  readonly #hints: EarlyHintsConfig;
  readonly #observer: Observer;
  readonly #remembered = new EarlyHintsCache();
  readonly #manifest: RoutePreloads | null;

  constructor(options: PagesOptions) {
    this.#esi = options.esi;
    this.#hints = options.earlyHints;
    this.#observer = options.observer;
    this.#manifest = options.earlyHints.manifests.length
      ? routePreloads(options.earlyHints.manifests, options.readManifest)
      : null;
  }

  /**
   * Before the answer: send the page's 103 when there is one to send. Returns the key its
   * answer's Link values are remembered under, or undefined when the request gets no hints.
   */
  hint(req: IncomingMessage, res: ServerResponse, url: URL): URL | undefined {
    const h = this.#hints;
    if (!h.enabled || res.headersSent) return undefined;
    if (
      !wantsEarlyHints(
        { method: req.method ?? 'GET', url, httpVersionMajor: req.httpVersionMajor },
        { allowHttp1: h.http1 },
      )
    )
      return undefined;
    if (h.exclude.length && h.exclude.some((p) => p.test(url.pathname))) return undefined;
    // Nothing remembered and no manifest (most requests of most sites): nothing to look up.
    if (this.#remembered.size === 0 && !this.#manifest) return url;
    const key = this.#remembered.keyOf(url);
    if (key === undefined) return undefined;
    const links = mergeLinks(this.#manifest?.match(url.pathname), this.#remembered.lookup(key));
    if (links.length) res.writeEarlyHints({ link: links });
    return url;
  }

  /**
   * After the answer's head is known: remember its hints (`hinted`: the URL hint() took), and
   * assemble it when it is ESI. One pass over the header list finds what each needs.
   */
  finish(
    response: WorkerResponse,
    hinted: URL | undefined,
    method: string,
    page: () => PageRequest,
  ): WorkerResponse {
    let marked = false;
    let link = false;
    let surrogate = false;
    const flat = response.headers;
    // Field names arrive lower-cased (a worker's Headers, undici's answers, the cache's).
    for (let i = 0; i < flat.length; i += 2) {
      const n = flat[i];
      if (n === ESI_MARK) marked = true;
      else if (n === 'link') link = true;
      else if (n === 'surrogate-control') surrogate = true;
    }
    if (marked) response = { ...response, headers: without(flat, ESI_MARK) };
    if (hinted !== undefined && (link || this.#remembered.size > 0)) {
      const links = hintsFromResponse(response.status, response.headers);
      const key = links !== null ? this.#remembered.keyOf(hinted) : undefined;
      if (links !== null && key !== undefined) this.#remembered.remember(key, links);
    }
    if (!marked && !surrogate && this.#esi.patterns.length === 0) return response;
    return this.#esiOf(response, method, page, marked);
  }

  #esiOf(response: WorkerResponse, method: string, page: () => PageRequest, asked: boolean): WorkerResponse {
    const e = this.#esi;
    if (!e.enabled || method !== 'GET' || response.status !== 200 || response.body === null) return response;
    const sc = field(response.headers, 'surrogate-control');
    const p = page();
    if (!asked && !wantsEsi(sc) && !e.patterns.some((re) => re.test(p.url.pathname))) return response;
    const encoding = field(response.headers, 'content-encoding');
    if (encoding && encoding !== 'identity') {
      this.#warn(`ESI not processed for ${p.url.pathname}: the page is ${encoding}-encoded`);
      return response;
    }
    // The assembled page is a new representation: no length, no validators of the template's.
    const headers: string[] = [];
    for (let i = 0; i < response.headers.length; i += 2) {
      const n = response.headers[i].toLowerCase();
      if (n === 'content-length' || n === 'etag' || n === 'last-modified') continue;
      if (n === 'surrogate-control') {
        const rest = stripEsiContent(response.headers[i + 1]);
        if (rest) headers.push(n, rest);
        continue;
      }
      headers.push(response.headers[i], response.headers[i + 1]);
    }
    const source = response.body;
    const template = source instanceof Uint8Array ? once(source) : iterate(source);
    const assembled = processEsi(template, {
      fetch: this.#fragments(p),
      context: { url: p.url, headers: pairs(p.headers), geo: geoOf(p.cf) },
      timeoutMs: e.timeoutMs,
      maxDepth: e.maxDepth,
      onIncludeError: e.onIncludeError,
      onMalformed: e.onMalformed,
      onWarning: (m) => this.#warn(`ESI ${p.url.pathname}: ${m}`),
    });
    const out = fromAsyncIterable(coalesced(assembled), () => {
      if (!(source instanceof Uint8Array)) source.cancel('the page is no longer read');
    });
    return { ...response, headers, body: out };
  }

  /** Fragments as the PoP would answer them: a worker route's worker, else cache and origin. */
  #fragments(p: PageRequest): FragmentFetcher {
    const headers: string[] = [];
    for (let i = 0; i < p.headers.length; i += 2)
      if (!NOT_FOR_FRAGMENTS.has(p.headers[i].toLowerCase())) headers.push(p.headers[i], p.headers[i + 1]);
    // `init.signal` is read only where it is used (a worker's body): the ESI processor makes the
    // AbortSignal on first read, and the cache path needs none.
    return async (raw, init) => {
      const url = new URL(raw);
      const own = p.site.isSelf(url.host) || (p.site.zone !== undefined && url.hostname === p.site.zone);
      if (!own || (url.protocol !== 'http:' && url.protocol !== 'https:'))
        throw new EsiError('bad-url', `only the site's own pages can be included, not ${url.host}`, raw);
      const answer = p.site.answer(url, p.fallback);
      if ('worker' in answer) {
        const r = await p.runtime.handle(answer.worker, {
          method: 'GET',
          url: url.href,
          headers,
          cf: p.cf,
          body: null,
          trace: p.scope,
        });
        return fragmentOf(r.status, r.headers, r.body, () => init.signal);
      }
      if (!p.site.origin) throw new EsiError('include-failed', 'the site has no origin', raw);
      const a = await siteFetch(
        p.site,
        p.runtime,
        { method: 'GET', url: p.site.publicHref(url), headers },
        url.pathname,
        recordHops({ hops: [], shield: [], objects: [] }, p.scope ?? NO_TRACE),
      );
      // The origin asked for ESI in the fragment (the cache consumed its Surrogate-Control).
      const flat = field(a.headers, ESI_MARK)
        ? [...without(a.headers, ESI_MARK), 'surrogate-control', 'content="ESI/1.0"']
        : a.headers;
      return fragmentOf(a.status, flat, a.bytes ?? a.body, null);
    };
  }

  #warn(message: string): void {
    this.#observer.log({ level: 'warn', source: 'outpost', message });
  }
}

function fragmentOf(
  status: number,
  flat: string[],
  body: Uint8Array | ChunkSource | AsyncIterable<Uint8Array> | null,
  signal: (() => AbortSignal) | null,
): FragmentResponse {
  let iterable: AsyncIterable<Uint8Array> | null = null;
  if (body instanceof Uint8Array) iterable = once(body);
  else if (body && 'next' in body && typeof (body as ChunkSource).cancel === 'function') {
    const src = body as ChunkSource;
    signal?.().addEventListener('abort', () => src.cancel('the fragment is no longer needed'), {
      once: true,
    });
    iterable = iterate(src);
  } else if (body) iterable = body as AsyncIterable<Uint8Array>;
  return { status, headers: pairs(flat), body: iterable };
}

function field(flat: string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i].toLowerCase() === name) return flat[i + 1];
  return undefined;
}

function without(flat: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (flat[i].toLowerCase() !== name) out.push(flat[i], flat[i + 1]);
  return out;
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i].toLowerCase(), flat[i + 1]]);
  return out;
}

/** $(GEO{…}) from request.cf, in ESI's dictionary names. */
function geoOf(cf: Record<string, unknown>): Record<string, string | undefined> {
  const s = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  return {
    country_code: s(cf.country),
    region_code: s(cf.regionCode),
    city: s(cf.city),
    continent_code: s(cf.continent),
    postal_code: s(cf.postalCode),
    lat: s(cf.latitude),
    long: s(cf.longitude),
  };
}

/**
 * The assembled page in as few writes as its arrival allows: what the processor has ready within
 * one turn of the event loop goes out as one chunk (a page of ten cached fragments is one write,
 * not twenty-one), and a chunk waiting on a slow fragment does not hold back what came before.
 */
async function* coalesced(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const turn = () => new Promise<'turn'>((r) => setImmediate(r, 'turn'));
  let pending: Promise<IteratorResult<Uint8Array>> | null = null;
  let ended = false;
  try {
    while (!ended) {
      const first = await (pending ?? it.next());
      pending = null;
      if (first.done) return;
      const parts = [first.value];
      let size = first.value.byteLength;
      while (size < 64 * 1024) {
        const next = it.next();
        const r = await Promise.race([next, turn()]);
        if (r === 'turn') {
          pending = next;
          break;
        }
        if (r.done) {
          ended = true;
          break;
        }
        parts.push(r.value);
        size += r.value.byteLength;
      }
      yield parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
    }
  } finally {
    if (!ended) await it.return?.();
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function* iterate(src: ChunkSource): AsyncGenerator<Uint8Array> {
  let ended = false;
  try {
    for (let c = await src.next(); c !== null; c = await src.next()) yield c;
    ended = true;
  } finally {
    if (!ended) src.cancel('no longer read');
  }
}
