// Helpers for the ESI tests: bodies, a fetcher whose answers the test controls, collecting output.

import { type Deferred, deferred } from './flow.ts';
import { processEsi } from './process.ts';
import type { EsiOptions, FragmentResponse } from './types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

/** A body yielding `parts` in order; `returned` tells whether the reader released it early. */
export function bodyOf(
  parts: (string | Uint8Array)[],
): AsyncIterable<Uint8Array> & { returned: boolean; pulled: number } {
  const src = {
    returned: false,
    pulled: 0,
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      let i = 0;
      return {
        next: async () => {
          src.pulled++;
          if (i >= parts.length) return { done: true, value: undefined };
          const p = parts[i++];
          return { done: false, value: typeof p === 'string' ? bytes(p) : p };
        },
        return: async () => {
          src.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return src;
}

/** A body the test feeds by hand: `push` a chunk, `end` it; `returned` as above. */
export function manualBody() {
  const queue: (Uint8Array | null)[] = [];
  let waiting: Deferred<void> | null = null;
  const src = {
    returned: false,
    pulled: 0,
    push(s: string) {
      queue.push(bytes(s));
      waiting?.resolve();
    },
    end() {
      queue.push(null);
      waiting?.resolve();
    },
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      return {
        next: async () => {
          src.pulled++;
          while (queue.length === 0) {
            waiting = deferred<void>();
            await waiting.promise;
          }
          const c = queue.shift()!;
          return c === null ? { done: true, value: undefined } : { done: false, value: c };
        },
        return: async () => {
          src.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return src;
}

export interface Call {
  url: string;
  signal: AbortSignal;
  depth: number;
  answer: Deferred<FragmentResponse>;
}

/** A fetcher recording every call; each call's answer is settled by the test (or by `auto`). */
export function controlledFetch(auto?: (url: string) => FragmentResponse | undefined) {
  const calls: Call[] = [];
  const fetch = (url: string, init: { signal: AbortSignal; depth: number }) => {
    const answer = deferred<FragmentResponse>();
    calls.push({ url, signal: init.signal, depth: init.depth, answer });
    const a = auto?.(url);
    if (a) answer.resolve(a);
    return answer.promise;
  };
  return { fetch, calls };
}

/** A fetcher answering from a table: url → body (200), [status, body, surrogate-control?], or 'THROW'. */
export type Table = Record<string, string | [number, string, string?]>;

export function tableFetch(table: Table) {
  const urls: string[] = [];
  const fetch = async (url: string): Promise<FragmentResponse> => {
    urls.push(url);
    const e = table[url];
    if (e === 'THROW') throw new Error(`fetch of ${url} threw`);
    if (e === undefined) return { status: 404, headers: [], body: bodyOf(['not found']) };
    const [status, body, sc] = typeof e === 'string' ? [200, e, undefined] : e;
    return { status, headers: sc ? [['surrogate-control', sc]] : [], body: bodyOf([body]) };
  };
  return { fetch, urls };
}

export function ok(body: string, surrogateControl?: string): FragmentResponse {
  return {
    status: 200,
    headers: surrogateControl ? [['surrogate-control', surrogateControl]] : [],
    body: bodyOf([body]),
  };
}

export async function collect(out: AsyncIterable<Uint8Array>): Promise<string> {
  return dec.decode(await collectBytes(out));
}

export async function collectBytes(out: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of out) parts.push(c);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

/** Lets pending promise reactions and immediates run (`n` rounds). */
export async function settle(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

export const decode = (b: Uint8Array) => dec.decode(b);

/** Processes `page` with a table fetcher, collecting output, fetched URLs and warnings. */
export function runPage(page: string | string[], table: Table, opts: Omit<EsiOptions, 'fetch'>) {
  const f = tableFetch(table);
  const warnings: string[] = [];
  const out = collect(
    processEsi(bodyOf(Array.isArray(page) ? page : [page]), {
      fetch: f.fetch,
      onWarning: (m) => warnings.push(m),
      ...opts,
    }),
  );
  return { out, urls: f.urls, warnings };
}

/** The request the process tests answer. */
export const shopContext = {
  url: new URL('https://shop.test/dir/page?lang=fr&id=7'),
  headers: [
    ['cookie', 'user=bob; cart=3'],
    ['host', 'shop.test'],
    ['accept-language', 'fr-CH, en;q=0.5'],
    ['referer', 'https://ref.test/'],
    ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64)'],
  ] as [string, string][],
  geo: { country_code: 'CH' },
};
