/**
 * The Cache API's host side: validates what the isolate sent and uses the PoP's store. Each
 * tenant sees only its own entries (the namespace includes the tenant), as a zone does on
 * Cloudflare.
 */
import type { ApiCacheStore } from '../../cache/index.ts';
import { NamedError } from './named-error.ts';

export interface CacheAccess {
  store: ApiCacheStore;
  /** Prefix that keeps tenants apart. */
  tenant: string;
}

const MAX_NAME = 1024;

function invalid(what: string): NamedError {
  return new NamedError(`invalid cache call: ${what}`, 'TypeError');
}

export function cacheCall(access: CacheAccess | null, op: unknown, args: unknown[]): unknown {
  if (!access) throw new NamedError('The Cache API is not available here', 'Error');
  const [name, url] = args;
  if (typeof name !== 'string' || name.length > MAX_NAME) throw invalid('cache name');
  if (typeof url !== 'string' || !/^https?:\/\//.test(url) || url.length > 16384) throw invalid('url');
  const ns = `${access.tenant}\0${name}`;
  if (op === 'match') {
    const e = access.store.match(ns, url);
    if (!e) return null;
    const age = Math.max(0, Math.floor((Date.now() - e.storedAt) / 1000));
    const headers = e.headers;
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2)
      if (headers[i] !== 'age' && headers[i] !== 'cf-cache-status') out.push(headers[i], headers[i + 1]);
    out.push('cf-cache-status', 'HIT', 'age', String(age));
    const body = e.body.slice().buffer;
    return { status: e.status, statusText: e.statusText, headers: out, url: '', redirected: false, body };
  }
  if (op === 'delete') return access.store.delete(ns, url);
  if (op === 'put') {
    const [, , status, statusText, headers, body] = args;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599)
      throw invalid('status');
    if (typeof statusText !== 'string') throw invalid('statusText');
    if (!Array.isArray(headers) || headers.length % 2 !== 0 || headers.some((h) => typeof h !== 'string'))
      throw invalid('headers');
    if (!(body instanceof ArrayBuffer)) throw invalid('body');
    return access.store.put(ns, url, {
      status,
      statusText,
      headers: headers as string[],
      body: new Uint8Array(body),
    });
  }
  throw invalid('operation');
}
