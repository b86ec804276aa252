/**
 * The Cache API as Workers has it (https://developers.cloudflare.com/workers/runtime-apis/cache/):
 * `caches.default` and `caches.open(name)`, each with match/put/delete. Entries live in the
 * PoP's store on the host (src/cache/api-store.ts), never replicated to other PoPs.
 */
import { callAsync } from './bridge.ts';
import { type HostResponse, responseFromHost } from './fetch.ts';
import { flattenHeaders } from './headers.ts';
import { Request } from './request.ts';
import { Response } from './response.ts';
import { URL } from './url.ts';

interface Options {
  ignoreMethod?: boolean;
}

function toRequest(input: unknown, what: string): Request {
  const r = input instanceof Request ? input : new Request(input as string);
  if (!/^https?:$/.test(new URL(r.url).protocol))
    throw new TypeError(`Failed to execute '${what}' on 'Cache': Request scheme must be http or https.`);
  return r;
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison. */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => bare(t) === bare(etag));
}

export class Cache {
  #name: string;
  constructor(name: string, key: symbol) {
    if (key !== kConstruct) throw new TypeError('Illegal constructor');
    this.#name = name;
  }

  async match(input: unknown, options: Options = {}): Promise<Response | undefined> {
    const request = toRequest(input, 'match');
    if (request.method !== 'GET' && !options?.ignoreMethod) return undefined;
    const hit: HostResponse | null = await callAsync('cache', 'match', this.#name, request.url);
    if (!hit) return undefined;
    const inm = request.headers.get('if-none-match');
    let etag: string | undefined;
    for (let i = 0; i < hit.headers.length; i += 2) if (hit.headers[i] === 'etag') etag = hit.headers[i + 1];
    if (inm && etag && etagMatches(inm, etag))
      return responseFromHost({ ...hit, status: 304, statusText: 'Not Modified', body: null });
    return responseFromHost(hit);
  }

  async put(input: unknown, response: unknown): Promise<undefined> {
    const request = toRequest(input, 'put');
    if (request.method !== 'GET') throw new TypeError('Cannot cache response to non-GET request.');
    if (!(response instanceof Response))
      throw new TypeError("Failed to execute 'put' on 'Cache': parameter 2 is not of type 'Response'.");
    if (response.status === 206)
      throw new TypeError('Cannot cache response to a range request (206 Partial Content).');
    const vary = response.headers.get('vary');
    if (vary?.split(',').some((v) => v.trim() === '*'))
      throw new TypeError("Cannot cache response with 'Vary: *' header.");
    if (response.status === 101 || response.status < 200)
      throw new TypeError(`Cannot cache response with status ${response.status}.`);
    if (response.bodyUsed) throw new TypeError('Response body is already used');
    const body = await response.arrayBuffer();
    await callAsync(
      'cache',
      'put',
      this.#name,
      request.url,
      response.status,
      response.statusText,
      flattenHeaders(response.headers),
      body,
    );
    return undefined;
  }

  async delete(input: unknown, options: Options = {}): Promise<boolean> {
    const request = toRequest(input, 'delete');
    if (request.method !== 'GET' && !options?.ignoreMethod) return false;
    return callAsync('cache', 'delete', this.#name, request.url);
  }

  /** Not in Workers: https://developers.cloudflare.com/workers/runtime-apis/cache/#methods */
  async add(): Promise<never> {
    throw new TypeError('Cache.add() is not supported in Workers; use fetch() and cache.put().');
  }
  async addAll(): Promise<never> {
    throw new TypeError('Cache.addAll() is not supported in Workers; use fetch() and cache.put().');
  }
}

const kConstruct = Symbol('construct');

export class CacheStorage {
  readonly default: Cache;
  constructor(key: symbol) {
    if (key !== kConstruct) throw new TypeError('Illegal constructor');
    this.default = new Cache('', kConstruct);
  }
  async open(name: unknown): Promise<Cache> {
    const n = String(name);
    if (n.length > 1024) throw new TypeError('Cache name is too long (1024 characters at most).');
    // A name never collides with the default cache: '' is reserved for it.
    return new Cache(`named:${n}`, kConstruct);
  }
  async has(): Promise<never> {
    throw new TypeError('CacheStorage.has() is not supported in Workers.');
  }
  async delete(): Promise<never> {
    throw new TypeError('CacheStorage.delete() is not supported in Workers.');
  }
  async keys(): Promise<never> {
    throw new TypeError('CacheStorage.keys() is not supported in Workers.');
  }
}

export const caches = new CacheStorage(kConstruct);
