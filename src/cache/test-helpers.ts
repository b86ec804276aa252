/** Helpers shared by the HttpCache tests: a scripted origin, a cache on a settable clock. */
import {
  type CacheAnswer,
  HttpCache,
  type HttpCacheOptions,
  type Origin,
  type OriginResponse,
} from './http-cache.ts';
import { MemoryStore } from './store/memory.ts';

export const enc = (s: string) => new TextEncoder().encode(s);
export async function text(a: CacheAnswer): Promise<string> {
  let out = '';
  if (a.body) for await (const c of a.body) out += new TextDecoder().decode(c);
  return out;
}
export const header = (a: CacheAnswer, n: string) => {
  const i = a.headers.indexOf(n);
  return i >= 0 && i % 2 === 0 ? a.headers[i + 1] : undefined;
};

/** A scripted origin that records what it was asked. */
export function origin(
  respond: (n: number, headers: string[]) => Partial<OriginResponse> & { text?: string },
) {
  const seen: string[][] = [];
  const fn: Origin = async (req) => {
    seen.push(req.headers);
    const r = respond(seen.length, req.headers);
    return {
      status: r.status ?? 200,
      statusText: r.statusText ?? 'OK',
      headers: r.headers ?? [],
      body:
        r.text === undefined
          ? null
          : (async function* () {
              yield enc(r.text!);
            })(),
    };
  };
  return { fn, seen };
}

export function setup(options: Partial<HttpCacheOptions> = {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const cache = new HttpCache({ store: new MemoryStore(), now: () => now, ...options });
  return {
    cache,
    tick: (s: number) => (now += s * 1000),
    get: (url = 'https://o.example/a', headers: string[] = []) => ({ method: 'GET', url, headers }),
  };
}

/** A slow origin (for stampedes): counts its calls, answers fresh for a minute after `ms`. */
export function slowOrigin(ms: number, body: (calls: number) => string) {
  const counter = { calls: 0 };
  const fn: Origin = async () => {
    const n = ++counter.calls;
    await new Promise((r) => setTimeout(r, ms));
    return {
      status: 200,
      statusText: 'OK',
      headers: ['cache-control', 'max-age=60'],
      body: (async function* () {
        yield enc(body(n));
      })(),
    };
  };
  return { fn, counter };
}
