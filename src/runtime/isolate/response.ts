/** Response (https://fetch.spec.whatwg.org/#response-class), with Workers' `webSocket` and `cf`. */
import { Body, type BodyState, cloneState, extractBody, kBody, newState } from './body.ts';
import { Headers, kGuard } from './headers.ts';
import { URL } from './url.ts';

const NULL_BODY = new Set([101, 204, 205, 304]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);
const kTrusted = Symbol('trusted');

interface Trusted {
  status: number;
  statusText: string;
  headers: Headers;
  body: BodyState;
  url: string;
  redirected: boolean;
  type?: string;
  webSocket?: unknown;
}

export function makeResponse(t: Trusted): Response {
  return new Response(kTrusted, t as any);
}

export class Response extends Body {
  [kBody]: BodyState;
  #status: number;
  #statusText: string;
  #headers: Headers;
  #url: string;
  #redirected: boolean;
  #type: string;
  #webSocket: unknown;
  #cf: unknown;
  constructor(body: unknown = null, init: Record<string, any> = {}) {
    super();
    if (body === kTrusted) {
      const t = init as Trusted;
      this.#status = t.status;
      this.#statusText = t.statusText;
      this.#headers = t.headers;
      this.#url = t.url;
      this.#redirected = t.redirected;
      this.#type = t.type ?? 'default';
      this.#webSocket = t.webSocket ?? null;
      this[kBody] = t.body;
      return;
    }
    if (init === null || typeof init !== 'object') init = {};
    const status = init.status === undefined ? 200 : Number(init.status);
    this.#webSocket = init.webSocket ?? null;
    const allowed = (status >= 200 && status <= 599) || (status === 101 && this.#webSocket !== null);
    if (!Number.isInteger(status) || !allowed) {
      throw new RangeError(
        `Responses may only be constructed with status codes in the range 200 to 599, inclusive. (received ${init.status})`,
      );
    }
    this.#status = status;
    this.#statusText = init.statusText === undefined ? '' : String(init.statusText);
    if (/[\r\n]/.test(this.#statusText)) throw new TypeError('Invalid statusText');
    this.#headers = new Headers(init.headers);
    this.#url = '';
    this.#redirected = false;
    this.#type = 'default';
    this.#cf = init.cf;
    if (body !== null && body !== undefined) {
      if (NULL_BODY.has(status))
        throw new TypeError(`Response with null body status (${status}) cannot have a body.`);
      const { source, contentType } = extractBody(body);
      this[kBody] = newState(source);
      if (contentType && !this.#headers.has('content-type')) this.#headers.set('content-type', contentType);
    } else this[kBody] = newState(null);
  }
  static json(data: unknown, init: Record<string, any> = {}): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(text, { ...init, headers });
  }
  static redirect(url: unknown, status = 302): Response {
    if (!REDIRECT.has(status)) throw new RangeError(`Invalid status code for redirect: ${status}`);
    const headers = new Headers({ location: new URL(String(url)).href });
    headers[kGuard] = 'immutable';
    return makeResponse({
      status,
      statusText: '',
      headers,
      body: newState(null),
      url: '',
      redirected: false,
    });
  }
  static error(): Response {
    const headers = new Headers();
    headers[kGuard] = 'immutable';
    return makeResponse({
      status: 0,
      statusText: '',
      headers,
      body: newState(null),
      url: '',
      redirected: false,
      type: 'error',
    });
  }
  get status() {
    return this.#status;
  }
  get statusText() {
    return this.#statusText;
  }
  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }
  get headers() {
    return this.#headers;
  }
  get url() {
    return this.#url;
  }
  get redirected() {
    return this.#redirected;
  }
  get type() {
    return this.#type;
  }
  get webSocket() {
    return this.#webSocket;
  }
  get cf() {
    return this.#cf;
  }
  clone(): Response {
    const headers = new Headers(this.#headers);
    headers[kGuard] = this.#headers[kGuard];
    return makeResponse({
      status: this.#status,
      statusText: this.#statusText,
      headers,
      body: cloneState(this[kBody]),
      url: this.#url,
      redirected: this.#redirected,
      type: this.#type,
    });
  }
  get [Symbol.toStringTag]() {
    return 'Response';
  }
}
