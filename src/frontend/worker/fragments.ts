/**
 * outpost/fragments: assemble a page from fragments inside a worker, with HTMLRewriter
 * (https://developers.cloudflare.com/workers/runtime-apis/html-rewriter/). Only standard
 * Workers APIs, so the same code runs on Cloudflare and in Outpost. Guide: docs/fragments.md.
 *
 *     import { assemble } from 'outpost/fragments';
 *     return assemble(await fetch(`${env.ORIGIN}/shell/home`), { origin: env.ORIGIN });
 *
 * Design. Placeholders (fragment-slots.ts) are filled in document order while the page streams.
 * An HTMLRewriter element handler may be async, and the rewriter waits for it before it parses
 * on (HTMLRewriter page, "Handlers": async handlers) — which is what puts each fragment in its
 * place, but also means a single pass would not see the second placeholder until the first
 * fragment had arrived: fetches one after another. So the page's body is teed into two passes:
 *  - the scanning pass has a synchronous handler that starts each placeholder's fetch as soon as
 *    its start tag is parsed, and discards its output; it runs ahead as fast as the page arrives;
 *  - the assembling pass, whose output is the response, awaits the n-th placeholder's fetch
 *    (started by whichever pass saw it first) and sets the element's content to the fragment
 *    (Element.setInnerContent with { html: true }), or leaves the fallback.
 * Bytes before a placeholder are sent before its fragment is awaited, so the client gets the
 * top of the page while fragments are on their way; for workerd that needs the assembling
 * pass's input cut before each placeholder (fragment-split.ts). The tee buffers the part of the
 * page the assembling pass has not reached yet (at most the page itself).
 *
 * Fragment bodies are read as text before they are inserted: the content argument is a string
 * in Outpost (html-rewriter-wasm); Workers' streamed content (Response/ReadableStream) is not
 * used. Inserted HTML is not parsed again, so fragments are not assembled recursively.
 */
import { type Fetched, type FragmentReport, fetchFragment } from './fragment-fetch';
import { INSIDE_SELECTOR, SELECTOR, type Slot, SlotCounter } from './fragment-slots';
import { cutBeforePlaceholders } from './fragment-split';

export type { FragmentOutcome, FragmentReport } from './fragment-fetch';
export { ATTRIBUTE } from './fragment-slots';

export const DEFAULT_TTL = 60;
export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_MAX_FRAGMENTS = 32;

export interface AssembleOptions {
  /** Fragments are fetched from `${origin}/fragments/${key}` (unless `resolve` is given). */
  origin?: string;
  /** Where a key's fragment is fetched from; wins over `origin`. A throw makes it fall back. */
  resolve?: (key: string) => string | URL | Request;
  /** Edge cache TTL in seconds (cf.cacheTtl) for placeholders without `data-ttl`. Default 60. */
  ttl?: number;
  /** Milliseconds to wait for a fragment without `data-timeout`. Default 2000. */
  timeout?: number;
  /**
   * Fetches per page at most (one per distinct URL); placeholders past it keep their fallback.
   * Each fetch is a subrequest: Workers allows 50 per request on the free plan, and Outpost's
   * 51st fails the whole request with a 503. Default 32.
   */
  maxFragments?: number;
  /** Passed to every fragment's fetch (headers, cf options; cf.cacheTtl is set per fragment). */
  init?: RequestInit<RequestInitCfProperties>;
  /**
   * Fallback HTML for a failed fragment whose placeholder is empty (a placeholder's own content
   * is always its fallback). A function may look at why it failed; undefined leaves it empty.
   */
  fallback?: string | ((report: FragmentReport) => string | undefined);
  /**
   * Name of a response header that lists every fragment in Server-Timing syntax
   * (`header;desc=hit;dur=12, ads;desc=timeout;dur=500`); "server-timing" appends to that
   * header. Headers go before the body, so with this set the response waits until every
   * fragment has settled: the page no longer streams ahead of its slowest fragment.
   */
  header?: string;
  /** Called once every fragment has settled, with one report per placeholder in order. */
  onSettled?: (reports: FragmentReport[]) => void;
}

/** A page to assemble: a Response (e.g. the origin's shell), or HTML as a string or stream. */
export type Page = Response | string | ReadableStream<Uint8Array>;

interface Settings {
  resolve: (key: string) => string | URL | Request;
  ttl: number;
  timeoutMs: number;
  maxFragments: number;
  init?: RequestInit<RequestInitCfProperties>;
}

// Segments of letters, digits and -_.~ that do not start with a dot (so no "." or "..").
const KEY = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$/;

function settings(options: AssembleOptions): Settings {
  const whole = (v: unknown, min: number, name: string, dflt: number) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new TypeError(`assemble: options.${name} must be an integer of at least ${min}`);
    return v;
  };
  let resolve = options.resolve;
  if (!resolve) {
    if (typeof options.origin !== 'string')
      throw new TypeError('assemble: options.origin or options.resolve is required');
    const base = new URL(options.origin).href.replace(/\/+$/, '');
    resolve = (key) => {
      if (!KEY.test(key))
        throw new TypeError(`fragment key "${key}" is not a path of letters, digits and -_.~`);
      return `${base}/fragments/${key}`;
    };
  }
  return {
    resolve,
    ttl: whole(options.ttl, 0, 'ttl', DEFAULT_TTL),
    timeoutMs: whole(options.timeout, 1, 'timeout', DEFAULT_TIMEOUT_MS),
    maxFragments: whole(options.maxFragments, 0, 'maxFragments', DEFAULT_MAX_FRAGMENTS),
    init: options.init,
  };
}

/** The fragments of one page: each fetched once, by whichever pass reaches it first. */
class Assembly {
  readonly #settings: Settings;
  readonly #byIndex = new Map<number, Promise<Fetched>>();
  readonly #byUrl = new Map<string, Promise<Fetched>>();
  readonly #reports: FragmentReport[] = [];
  #scanned: Promise<void> = Promise.resolve();
  #fetches = 0;

  constructor(s: Settings) {
    this.#settings = s;
  }

  fragment(slot: Slot): Promise<Fetched> {
    let p = this.#byIndex.get(slot.index);
    if (!p) {
      const { key } = slot.spec;
      p = this.#start(slot).then((r) => ({ ...r, key }));
      this.#byIndex.set(slot.index, p);
      p.then(({ body: _, ...report }) => {
        this.#reports[slot.index] = report;
      });
    }
    return p;
  }

  #start(slot: Slot): Promise<Fetched> {
    const { key } = slot.spec;
    const ttl = slot.spec.ttl ?? this.#settings.ttl;
    const timeoutMs = slot.spec.timeoutMs ?? this.#settings.timeoutMs;
    let target: string | URL | Request;
    try {
      target = this.#settings.resolve(key);
    } catch (err) {
      return Promise.resolve({ key, ttl, outcome: 'invalid', ms: 0, error: String(err) });
    }
    // The same URL with the same TTL is fetched once per page (a Request may carry a body).
    const id = target instanceof Request ? undefined : `${ttl} ${String(target)}`;
    const shared = id === undefined ? undefined : this.#byUrl.get(id);
    if (shared) return shared;
    if (this.#fetches >= this.#settings.maxFragments)
      return Promise.resolve({ key, ttl, outcome: 'limit', ms: 0 });
    this.#fetches++;
    const p = fetchFragment({ key, target, ttl, timeoutMs, init: this.#settings.init });
    if (id !== undefined) this.#byUrl.set(id, p);
    return p;
  }

  /** Run the scanning pass over `body` (see the design comment). */
  scan(body: ReadableStream<Uint8Array>): void {
    const counter = new SlotCounter();
    const out = new HTMLRewriter()
      .on(SELECTOR, {
        element: (el) => {
          const slot = counter.enter(el);
          if (slot) void this.fragment(slot);
        },
      })
      .transform(new Response(body));
    this.#scanned = (async () => {
      const reader = out.body?.getReader();
      try {
        while (reader && !(await reader.read()).done) {}
      } catch {
        // A broken page breaks the assembling pass too; it reports that to the client.
      }
    })();
  }

  /** Every placeholder's report, in document order, once the page is scanned and all settled. */
  async settled(): Promise<FragmentReport[]> {
    await this.#scanned;
    await Promise.all(this.#byIndex.values());
    return [...this.#reports];
  }
}

/** The option's fallback HTML; a function that throws gives none rather than break the page. */
function fallbackFor(options: AssembleOptions, report: FragmentReport): string | undefined {
  if (typeof options.fallback !== 'function') return options.fallback;
  try {
    const html = options.fallback(report);
    return typeof html === 'string' ? html : undefined;
  } catch (err) {
    console.error(`outpost/fragments: the fallback for "${report.key}" threw`, err);
    return undefined;
  }
}

/** The assembling pass: placeholders' content replaced by fragments, in document order. */
function assembling(page: Response, run: Assembly, options: AssembleOptions): Response {
  const counter = new SlotCounter();
  return new HTMLRewriter()
    .on(SELECTOR, {
      element: async (el) => {
        const slot = counter.enter(el);
        if (!slot) return;
        const got = await run.fragment(slot);
        if (got.outcome === 'ok') {
          el.setInnerContent(got.body ?? '', { html: true });
          return;
        }
        const { body: _, ...report } = got;
        const html = fallbackFor(options, report);
        if (html === undefined) return;
        // The placeholder's own content, if any, stays as the fallback; only an empty one
        // gets the option's, just before its end tag.
        slot.atEnd = (end) => {
          if (!slot.hasContent) end.before(html, { html: true });
        };
      },
      text: (text) => {
        if (counter.current && /\S/.test(text.text)) counter.current.hasContent = true;
      },
    })
    .on(INSIDE_SELECTOR, {
      element: () => {
        if (counter.current) counter.current.hasContent = true;
      },
    })
    .transform(page);
}

/** A header value in Server-Timing syntax: one metric per placeholder. */
export function summary(reports: FragmentReport[]): string {
  return reports
    .map((r) => {
      const name = r.key.replace(/[^A-Za-z0-9!#$%&'*+.^_`|~-]/g, '_');
      const desc =
        r.outcome === 'ok' ? (r.cache ?? 'ok') : r.outcome === 'status' ? `http-${r.status}` : r.outcome;
      return `${name};desc=${desc.replace(/[^A-Za-z0-9-]/g, '_')};dur=${r.ms}`;
    })
    .join(', ');
}

function toResponse(page: Page): Response {
  if (page instanceof Response) return page;
  if (typeof page === 'string' || page instanceof ReadableStream)
    return new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  throw new TypeError('assemble: the page must be a Response, a string or a ReadableStream');
}

/**
 * The page with every placeholder's content replaced by its fragment, streamed. Fragments are
 * fetched in parallel as soon as their placeholders are parsed, through the edge cache for their
 * TTL; a fragment that fails (timeout, non-2xx, network error) leaves its fallback. A page that
 * is not HTML (a Content-Type other than text/html or XHTML) or has no body is returned as is.
 */
export async function assemble(page: Page, options: AssembleOptions): Promise<Response> {
  const run = new Assembly(settings(options));
  const res = toResponse(page);
  const type = res.headers.get('content-type');
  if (res.body === null || (type !== null && !/^\s*(text\/html|application\/xhtml\+xml)\b/i.test(type)))
    return res;
  const [scanned, assembled] = res.body.tee();
  run.scan(scanned);
  const headers = new Headers(res.headers);
  // The body is no longer the one these described.
  for (const name of ['content-length', 'etag', 'content-md5']) headers.delete(name);
  const init = { status: res.status, statusText: res.statusText, headers };
  const out = assembling(new Response(assembled.pipeThrough(cutBeforePlaceholders()), init), run, options);
  if (options.onSettled) {
    const report = options.onSettled;
    run
      .settled()
      .then(report)
      .catch((err) => console.error('outpost/fragments: onSettled threw', err));
  }
  if (!options.header) return out;
  const reports = await run.settled();
  const value = summary(reports);
  if (options.header.toLowerCase() === 'server-timing') headers.append('server-timing', value);
  else headers.set(options.header, value);
  return new Response(out.body, init);
}
