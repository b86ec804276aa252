// GET /check?key=K: 200 when the request is within LIMIT per WINDOW_MS for K, else 429 with
// Retry-After. GET /check-sharded?key=K spreads K over SHARDS objects (incident 2's fix): each
// shard allows LIMIT / SHARDS, so the total holds while no single object is hot.
import { DurableObject } from 'cloudflare:workers';

interface Env {
  LIMITER: DurableObjectNamespace<RateLimitDO>;
  LIMIT: string;
  WINDOW_MS: string;
  SHARDS: string;
}

export class RateLimitDO extends DurableObject<Env> {
  /** Timestamps of the requests in the current window (kept in memory, rebuilt from storage). */
  hits: number[] | null = null;

  /** Record a request if the window has room; answers whether it was allowed and when to retry. */
  async take(limit: number, windowMs: number): Promise<{ allowed: boolean; remaining: number; retryAfterMs: number }> {
    const now = Date.now();
    this.hits ??= (await this.ctx.storage.get<number[]>('hits')) ?? [];
    const hits = this.hits.filter((t) => t > now - windowMs);
    if (hits.length >= limit) {
      this.hits = hits;
      return { allowed: false, remaining: 0, retryAfterMs: hits[0] + windowMs - now };
    }
    hits.push(now);
    this.hits = hits;
    this.ctx.storage.put('hits', hits);
    return { allowed: true, remaining: limit - hits.length, retryAfterMs: 0 };
  }
}

function answer(r: { allowed: boolean; remaining: number; retryAfterMs: number }, extra: Record<string, string> = {}): Response {
  const headers = { 'x-ratelimit-remaining': String(r.remaining), ...extra };
  if (r.allowed) return new Response('ok\n', { headers });
  return new Response('rate limited\n', {
    status: 429,
    headers: { ...headers, 'retry-after': String(Math.ceil(r.retryAfterMs / 1000)) },
  });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const key = url.searchParams.get('key') ?? request.headers.get('cf-connecting-ip') ?? 'anonymous';
    const limit = Number(env.LIMIT);
    const windowMs = Number(env.WINDOW_MS);
    if (url.pathname === '/check') return answer(await env.LIMITER.getByName(key).take(limit, windowMs));
    if (url.pathname === '/check-sharded') {
      const shards = Number(url.searchParams.get('shards') ?? env.SHARDS);
      const shard = Math.floor(Math.random() * shards);
      const r = await env.LIMITER.getByName(`${key}#${shard}`).take(Math.ceil(limit / shards), windowMs);
      return answer(r, { 'x-ratelimit-shard': `${shard}/${shards}` });
    }
    return new Response('try /check?key=K or /check-sharded?key=K', { status: 404 });
  },
};
