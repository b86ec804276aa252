/** Request (https://fetch.spec.whatwg.org/#request-class) with Workers' `cf` property. */
import { AbortController, type AbortSignal } from './abort.ts';
import { Body, type BodyState, cloneState, extractBody, isUsed, kBody, newState, USED } from './body.ts';
import { Headers, kGuard } from './headers.ts';
import { URL } from './url.ts';

const METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function normalizeMethod(m: unknown): string {
  const s = String(m);
  if (!TOKEN.test(s)) throw new TypeError(`Invalid HTTP method: "${s}"`);
  const upper = s.toUpperCase();
  return METHODS.has(upper) ? upper : s;
}

const kTrusted = Symbol('trusted');
interface Trusted {
  method: string;
  url: string;
  headers: Headers;
  body: BodyState;
  cf: unknown;
  signal?: AbortSignal;
}

/** Build a request from parts the host (or this runtime) already validated. */
export function makeRequest(t: Trusted): Request {
  return new Request(kTrusted, t as any);
}

export class Request extends Body {
  [kBody]: BodyState;
  #method: string;
  #url: string;
  #headers: Headers;
  #redirect: string;
  #signal: AbortSignal;
  #cf: unknown;
  constructor(input: unknown, init: Record<string, any> = {}) {
    super();
    if (input === kTrusted) {
      // Host-validated incoming request: no URL re-parse, no header re-validation.
      const t = init as Trusted;
      this.#method = t.method;
      this.#url = t.url;
      this.#headers = t.headers;
      this.#redirect = 'follow';
      this.#signal = t.signal ?? new AbortController().signal;
      this.#cf = t.cf;
      this[kBody] = t.body;
      return;
    }
    if (arguments.length === 0)
      throw new TypeError("Failed to construct 'Request': 1 argument required, but only 0 present.");
    const from = input instanceof Request ? input : null;
    this.#url = from ? from.url : new URL(String(input)).href;
    this.#method = init.method !== undefined ? normalizeMethod(init.method) : from ? from.method : 'GET';
    this.#headers = new Headers(init.headers !== undefined ? init.headers : from?.headers);
    this.#redirect = init.redirect ?? from?.redirect ?? 'follow';
    if (!['follow', 'manual', 'error'].includes(this.#redirect)) {
      throw new TypeError(
        `Invalid redirect value: "${this.#redirect}" (expected "follow", "manual" or "error")`,
      );
    }
    this.#signal = init.signal ?? from?.signal ?? new AbortController().signal;
    this.#cf = init.cf ?? from?.cf;

    const hasBody = init.body !== undefined && init.body !== null;
    if (hasBody && (this.#method === 'GET' || this.#method === 'HEAD')) {
      throw new TypeError('Request with a GET or HEAD method cannot have a body.');
    }
    if (hasBody) {
      const { source, contentType } = extractBody(init.body);
      this[kBody] = newState(source);
      if (contentType && !this.#headers.has('content-type')) this.#headers.set('content-type', contentType);
    } else if (from && init.body === undefined) {
      const state = from[kBody];
      if (isUsed(state)) throw new TypeError(USED);
      this[kBody] = newState(state.source);
      if (state.source !== null) state.used = true; // the body moves to the new request
    } else this[kBody] = newState(null);
  }
  get method() {
    return this.#method;
  }
  get url() {
    return this.#url;
  }
  get headers() {
    return this.#headers;
  }
  get redirect() {
    return this.#redirect;
  }
  get signal() {
    return this.#signal;
  }
  get cf() {
    return this.#cf;
  }
  get fetcher() {
    return null;
  }
  get integrity() {
    return '';
  }
  get keepalive() {
    return false;
  }
  clone(): Request {
    const headers = new Headers(this.#headers);
    headers[kGuard] = this.#headers[kGuard];
    return makeRequest({
      method: this.#method,
      url: this.#url,
      headers,
      body: cloneState(this[kBody]),
      cf: this.#cf,
      signal: this.#signal,
    });
  }
  get [Symbol.toStringTag]() {
    return 'Request';
  }
}
