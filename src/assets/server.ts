/**
 * Serving a worker's static assets as Workers does
 * (https://developers.cloudflare.com/workers/static-assets/routing/): which file a path names
 * under each `html_handling` mode, what answers when none does (`not_found_handling`), the
 * `_redirects` and `_headers` rules, ETags and conditional requests.
 *
 * Two ways in: `beforeWorker()` runs in the PoP before the worker (an answer means the worker
 * is not invoked), and `fetch()` is `env.ASSETS.fetch()` and assets-only projects — it always
 * answers, 404 when nothing matches.
 *
 * Order for a GET or HEAD: `_redirects` (first match; 200 rewrites serve the target's asset),
 * then the file the path names (or a 307 to its canonical path), then not-found handling.
 */
import { createReadStream, readFileSync } from 'node:fs';
import picomatch from 'picomatch';
import type { AssetsConfig } from '../config/index.ts';
import { type AssetFile, readManifest, readRuleFile } from './manifest.ts';
import { type HeaderRule, parseHeaders, parseRedirects, type RedirectRule, substitute } from './rules.ts';

export interface AssetRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
}

export interface AssetResponse {
  status: number;
  /** Lower-case names. */
  headers: [string, string][];
  body: Uint8Array | AsyncIterable<Uint8Array> | null;
}

type Resolved = { asset: AssetFile; path: string } | { redirect: string } | null;
type Routed = Resolved | { rule: RedirectRule; to: string };

/** An absolute URL in the parts routing needs, without the cost of a URL object. */
interface UrlParts {
  /** `https://host:port` */
  origin: string;
  /** Still percent-encoded. */
  pathname: string;
  /** `?…` or '' */
  search: string;
}

function splitUrl(url: string): UrlParts {
  const scheme = url.indexOf('//');
  let slash = url.indexOf('/', scheme + 2);
  if (slash < 0) slash = url.length;
  const hash = url.indexOf('#', slash);
  const end = hash < 0 ? url.length : hash;
  const q = url.indexOf('?', slash);
  const qEnd = q < 0 || q > end ? end : q;
  return {
    origin: url.slice(0, slash),
    pathname: slash === url.length ? '/' : url.slice(slash, qEnd),
    search: q < 0 || q > end ? '' : url.slice(q, end),
  };
}

/** Decided routes (and headers) kept per server; past this many, the table starts over. */
const ROUTE_CACHE_MAX = 10_000;

/** Bodies up to this size are kept in memory after the first read. */
const INLINE_MAX = 1024 * 1024;
/** All of one server's in-memory bodies. */
const MEMORY_BUDGET = 64 * 1024 * 1024;

function textResponse(status: number, text: string, extra: [string, string][] = []): AssetResponse {
  return {
    status,
    headers: [['content-type', 'text/plain; charset=utf-8'], ...extra],
    body: new TextEncoder().encode(text),
  };
}

export class AssetServer {
  readonly #files: Map<string, AssetFile>;
  readonly #redirects: RedirectRule[];
  readonly #headers: HeaderRule[];
  readonly #memory = new Map<string, Uint8Array>();
  readonly #routes = new Map<string, Routed>();
  readonly #headerCache = new Map<string, [string, string][]>();
  #memoryBytes = 0;
  readonly #workerFirst: ((path: string) => boolean) | boolean;

  constructor(
    readonly config: AssetsConfig,
    /** The project has a worker (`main`): unmatched requests go to it. */
    readonly hasWorker: boolean,
    warn: (message: string) => void = () => {},
    /** The project's folder: the files served must lie under it (symbolic links resolved). */
    root?: string,
  ) {
    const projectRoot = root ?? config.directory;
    this.#files = readManifest(config.directory, projectRoot);
    this.#redirects = parseRedirects(readRuleFile(config.directory, '_redirects', projectRoot), warn);
    this.#headers = parseHeaders(readRuleFile(config.directory, '_headers', projectRoot), warn);
    const first = config.runWorkerFirst;
    if (Array.isArray(first)) {
      const include = picomatch(first.filter((p) => !p.startsWith('!')));
      const exclude = first.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
      const excluded = exclude.length ? picomatch(exclude) : () => false;
      // Paths longer than any route pattern could sensibly name are not matched (assets then).
      this.#workerFirst = (path) => path.length <= 2048 && include(path) && !excluded(path);
    } else this.#workerFirst = first;
  }

  get size(): number {
    return this.#files.size;
  }

  /** Before the worker runs: an answer, or null when the worker should handle the request. */
  async beforeWorker(req: AssetRequest): Promise<AssetResponse | null> {
    if (!this.hasWorker) return this.fetch(req);
    if (req.method !== 'GET' && req.method !== 'HEAD') return null;
    const url = splitUrl(req.url);
    const path = decodePath(url.pathname);
    if (path === null) return null;
    if (this.#workerFirst === true || (typeof this.#workerFirst === 'function' && this.#workerFirst(path)))
      return null;
    const found = this.#routeCached(url, path);
    if (found) return this.#answer(req, url, found);
    // A single-page app's client routes: navigations get index.html, other requests the worker.
    if (
      this.config.notFoundHandling === 'single-page-application' &&
      req.header('sec-fetch-mode') === 'navigate'
    ) {
      const index = this.#files.get('/index.html');
      if (index) return this.#serve(req, url, '/index.html', index, 200);
    }
    return null;
  }

  /** `env.ASSETS.fetch()` and assets-only projects: always an answer. */
  async fetch(req: AssetRequest): Promise<AssetResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return textResponse(405, 'Method Not Allowed', [['allow', 'GET, HEAD']]);
    const url = splitUrl(req.url);
    const path = decodePath(url.pathname);
    if (path === null) return textResponse(400, 'Bad Request');
    const found = this.#routeCached(url, path);
    if (found) return this.#answer(req, url, found);
    const mode = this.config.notFoundHandling;
    if (mode === 'single-page-application') {
      const index = this.#files.get('/index.html');
      if (index) return this.#serve(req, url, '/index.html', index, 200);
    } else if (mode === '404-page') {
      const page = this.#notFoundPage(path);
      if (page) return this.#serve(req, url, page[0], page[1], 404);
    }
    return { status: 404, headers: [], body: null };
  }

  /**
   * Where a path leads is the same on every request for it (the folder is read once per
   * deploy): decided once per origin and path, then looked up.
   */
  #routeCached(url: UrlParts, path: string): Routed {
    const key = `${url.origin}${url.pathname}`;
    const hit = this.#routes.get(key);
    if (hit !== undefined) return hit;
    const routed = this.#route(url, path);
    if (this.#routes.size >= ROUTE_CACHE_MAX) this.#routes.clear();
    this.#routes.set(key, routed);
    return routed;
  }

  /**
   * `_redirects` first, then the path's own file. Rules match the path as it was sent
   * (percent-encoded), so what a placeholder captures stays encoded in the target: a request
   * for `/go/%2F%2Fevil.example` cannot become `Location: //evil.example`.
   */
  #route(url: UrlParts, path: string): Routed {
    for (const rule of this.#redirects) {
      const params = rule.match(rule.absolute ? `${url.origin}${url.pathname}` : url.pathname);
      if (!params) continue;
      const to = substitute(rule.to, params);
      if (to === null) continue;
      if (rule.status === 200) {
        const target = decodePath(new URL(to, `${url.origin}${url.pathname}`).pathname);
        const r = target === null ? null : (this.#file(target) ?? this.#resolve(target));
        if (r && 'asset' in r) return r;
        continue;
      }
      return { rule, to };
    }
    return this.#resolve(path);
  }

  #answer(req: AssetRequest, url: UrlParts, found: NonNullable<Routed>): AssetResponse {
    if ('rule' in found) {
      const absolute = /^https?:\/\//.test(found.to);
      // A relative target stays on this site: "//host" or "/\\host" would leave it.
      const to = absolute ? found.to : `/${found.to.replace(/^[/\\]+/, '')}`;
      const location = absolute || to.includes('?') ? to : to + url.search;
      return {
        status: found.rule.status,
        headers: [['location', location]] as [string, string][],
        body: null,
      };
    }
    if ('redirect' in found)
      return {
        status: 307,
        headers: [['location', found.redirect + url.search]] as [string, string][],
        body: null,
      };
    return this.#serve(req, url, found.path, found.asset, 200);
  }

  #has(p: string): boolean {
    return this.#files.has(p);
  }

  #file(p: string): Resolved {
    const asset = this.#files.get(p);
    return asset ? { asset, path: p } : null;
  }

  /** The file a path names under the `html_handling` mode, or the canonical path to redirect to. */
  #resolve(p: string): Resolved {
    const mode = this.config.htmlHandling;
    if (mode === 'none') return this.#file(p);
    const slash = p.endsWith('/');
    const bare = slash ? p.slice(0, -1) : p;
    if (p.endsWith('/index.html') && this.#has(p)) {
      const dir = p.slice(0, -'index.html'.length);
      return { redirect: mode === 'drop-trailing-slash' && dir !== '/' ? dir.slice(0, -1) : dir };
    }
    if (!slash && p.endsWith('.html') && this.#has(p)) {
      const stem = p.slice(0, -'.html'.length);
      return { redirect: mode === 'force-trailing-slash' ? `${stem}/` : stem };
    }
    if (slash) {
      if (mode === 'drop-trailing-slash' && p !== '/') {
        return this.#has(`${p}index.html`) || this.#has(`${bare}.html`) ? { redirect: bare } : null;
      }
      const index = this.#file(`${p}index.html`);
      if (index) return index;
      if (p === '/') return null;
      if (this.#has(`${bare}.html`))
        return mode === 'force-trailing-slash' ? this.#file(`${bare}.html`) : { redirect: bare };
      return null;
    }
    const exact = this.#file(p);
    if (exact) return exact;
    if (mode === 'force-trailing-slash')
      return this.#has(`${p}.html`) || this.#has(`${p}/index.html`) ? { redirect: `${p}/` } : null;
    const html = this.#file(`${p}.html`);
    if (html) return html;
    if (this.#has(`${p}/index.html`))
      return mode === 'drop-trailing-slash' ? this.#file(`${p}/index.html`) : { redirect: `${p}/` };
    return null;
  }

  /** The nearest 404.html at or above the request's folder. */
  #notFoundPage(path: string): [string, AssetFile] | null {
    let dir = path.endsWith('/') ? path : path.slice(0, path.lastIndexOf('/') + 1);
    for (;;) {
      const page = this.#files.get(`${dir}404.html`);
      if (page) return [`${dir}404.html`, page];
      if (dir === '/') return null;
      dir = dir.slice(0, dir.slice(0, -1).lastIndexOf('/') + 1);
    }
  }

  /** `path`: the file's; `_headers` rules match the request's path (`url`). */
  #serve(req: AssetRequest, url: UrlParts, path: string, asset: AssetFile, status: number): AssetResponse {
    const key = `${url.origin}${url.pathname}\0${path}`;
    let base = this.#headerCache.get(key);
    if (!base) {
      base = [
        ['content-type', asset.contentType],
        ['etag', asset.etag],
        ['cache-control', 'public, max-age=0, must-revalidate'],
      ];
      this.#applyHeaderRules(url, url.pathname, base);
      base.push(['content-length', String(asset.size)]);
      if (this.#headerCache.size >= ROUTE_CACHE_MAX) this.#headerCache.clear();
      this.#headerCache.set(key, base);
    }
    const headers = base.slice();
    const inm = req.header('if-none-match');
    if (status === 200 && inm !== undefined && etagMatches(inm, asset.etag))
      return {
        status: 304,
        headers: headers.filter(([n]) => n !== 'content-type' && n !== 'content-length'),
        body: null,
      };
    if (req.method === 'HEAD') return { status, headers, body: null };
    return { status, headers, body: this.#body(path, asset) };
  }

  #applyHeaderRules(url: UrlParts, path: string, headers: [string, string][]): void {
    if (this.#headers.length === 0) return;
    const added = new Map<string, string>();
    const removed = new Set<string>();
    for (const rule of this.#headers) {
      const params = rule.match(rule.absolute ? `${url.origin}${path}` : path);
      if (!params) continue;
      for (const n of rule.unset) {
        removed.add(n);
        added.delete(n);
      }
      for (const [n, v] of rule.set) {
        const value = substitute(v, params);
        if (value === null) continue;
        added.set(n, added.has(n) ? `${added.get(n)}, ${value}` : value);
      }
    }
    for (let i = headers.length - 1; i >= 0; i--)
      if (removed.has(headers[i][0]) || added.has(headers[i][0])) headers.splice(i, 1);
    for (const [n, v] of added) headers.push([n, v]);
  }

  #body(path: string, asset: AssetFile): Uint8Array | AsyncIterable<Uint8Array> {
    const cached = this.#memory.get(path);
    if (cached) return cached;
    if (asset.size > INLINE_MAX) return createReadStream(asset.file);
    const bytes = new Uint8Array(readFileSync(asset.file));
    if (this.#memoryBytes + bytes.byteLength <= MEMORY_BUDGET) {
      this.#memory.set(path, bytes);
      this.#memoryBytes += bytes.byteLength;
    }
    return bytes;
  }
}

/** The URL path decoded (`%20` → " "), or null when it cannot be. */
function decodePath(pathname: string): string | null {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return null;
  }
}

/** If-None-Match against a strong ETag (weak comparison, RFC 9110 §13.1.2). */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
