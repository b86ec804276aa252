/**
 * `outpost shield`: a regional shield as a process of its own, the middle tier between PoP
 * nodes and the origin (protocol: shield.ts). It holds one HTTP cache (coalescing concurrent
 * misses for a URL into one origin request), hears purges from NATS like a node
 * (src/cache/nats-purge.ts: acknowledged, everything dropped on any doubt), heartbeats in the
 * membership bucket with role `shield` (routers never send clients to it) and answers only
 * requests carrying the network's secret. What it fetches passes its own egress policy
 * (src/runtime/egress.ts): the public internet, plus what `--egress-allow` adds.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import {
  type CachePolicy,
  type CacheRequest,
  HttpCache,
  MemoryStore,
  NodePurges,
  type Origin,
  PurgeBus,
} from '../cache/index.ts';
import { resolveQuotas } from '../config/index.ts';
import { withoutHopByHop } from '../http/hop-by-hop.ts';
import { undici } from '../http/undici.ts';
import { EgressPolicy, OutpostError } from '../runtime/index.ts';
import { type Member, Membership } from './membership.ts';
import { relay } from './relay.ts';
import {
  isTierField,
  MIN_SECRET_LENGTH,
  secretMatches,
  TIER_ERROR,
  TIER_ORIGIN_MS,
  TIER_POLICY,
  TIER_SECRET,
  TIER_STATUS,
  TIER_URL,
} from './shield.ts';
import type { Topology } from './topology/types.ts';

export interface ShieldServerOptions {
  nats: string;
  /** The shield region served (an id of the topology's `shields`). */
  shield: string;
  topology: Topology;
  secret: string;
  host?: string;
  port?: number;
  advertise?: string;
  leaveMs?: number;
  replicas?: number;
  /** What the shield may fetch beyond the public internet (src/config/egress.ts entries). */
  egressAllow?: string[];
  /** The cache's budget, bytes (default 256 MiB). */
  maxBytes?: number;
  outpostVersion: string;
  log: (level: 'info' | 'warn', message: string) => void;
}

export interface ShieldServer {
  id: string;
  url: string;
  cache: HttpCache;
  close(): Promise<void>;
}

const POLICY_KEYS = new Set([
  'edgeTtl',
  'ttlByStatus',
  'browserTtl',
  'staleWhileRevalidate',
  'staleIfError',
  'tags',
  'bypassCookies',
  'jitter',
  'cacheKey',
  'namespace',
  'defaultCacheLevel',
  'cacheEverything',
  'byContentType',
]);

/** A policy as a PoP node sent it, checked field by field (a bad one is refused, never used). */
export function parseTierPolicy(v: unknown, depth = 0): CachePolicy {
  const fail = (why: string): never => {
    throw new OutpostError('INVALID_POLICY', `${TIER_POLICY}: ${why}`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('not an object');
  const o = v as Record<string, unknown>;
  const num = (k: string) => o[k] === undefined || (typeof o[k] === 'number' && Number.isFinite(o[k]));
  const strs = (k: string) =>
    o[k] === undefined || (Array.isArray(o[k]) && (o[k] as unknown[]).every((t) => typeof t === 'string'));
  const bool = (k: string) => o[k] === undefined || typeof o[k] === 'boolean';
  for (const k of Object.keys(o)) if (!POLICY_KEYS.has(k)) fail(`unknown field "${k}"`);
  for (const k of ['edgeTtl', 'browserTtl', 'staleWhileRevalidate', 'staleIfError', 'jitter'])
    if (!num(k)) fail(`${k} must be a number`);
  for (const k of ['tags', 'bypassCookies']) if (!strs(k)) fail(`${k} must be an array of strings`);
  for (const k of ['defaultCacheLevel', 'cacheEverything']) if (!bool(k)) fail(`${k} must be a boolean`);
  for (const k of ['cacheKey', 'namespace'])
    if (o[k] !== undefined && typeof o[k] !== 'string') fail(`${k} must be a string`);
  if (o.ttlByStatus !== undefined) {
    const list = o.ttlByStatus;
    if (
      !Array.isArray(list) ||
      !list.every(
        (e) =>
          typeof e === 'object' &&
          e !== null &&
          [e.from, e.to, e.ttl].every((n) => typeof n === 'number' && Number.isFinite(n)),
      )
    )
      fail('ttlByStatus must be a list of { from, to, ttl }');
  }
  if (o.byContentType !== undefined) {
    if (depth > 0) fail('byContentType cannot nest');
    if (!Array.isArray(o.byContentType)) fail('byContentType must be a list');
    for (const c of o.byContentType as unknown[]) {
      const e = c as { types?: unknown; policy?: unknown };
      if (
        typeof c !== 'object' ||
        c === null ||
        !Array.isArray(e.types) ||
        !e.types.every((t) => typeof t === 'string')
      )
        fail('byContentType entries need types (strings)');
      parseTierPolicy(e.policy, depth + 1);
    }
  }
  return o as CachePolicy;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function startShieldServer(o: ShieldServerOptions): Promise<ShieldServer> {
  if (!o.topology.shields.some((s) => s.id === o.shield))
    throw new OutpostError(
      'INVALID_OPTION',
      `--shield: no shield "${o.shield}" in topology ${o.topology.name} (it has ${o.topology.shields.map((s) => s.id).join(', ')})`,
    );
  if (o.secret.length < MIN_SECRET_LENGTH)
    throw new OutpostError(
      'INVALID_OPTION',
      `the network secret must be at least ${MIN_SECRET_LENGTH} characters (it keeps the shield from being an open proxy)`,
    );
  const egress = new EgressPolicy({ allow: o.egressAllow ?? [] });
  const cache = new HttpCache({
    // Each worker's fetch() entries within their own budget, as in a PoP's cache: one tenant
    // cannot evict the others'.
    store: new MemoryStore({
      maxBytes: o.maxBytes,
      namespaceMaxBytes: resolveQuotas(undefined, 'quotas').fetchCacheTenantBytes,
    }),
    onError: (err) => o.log('warn', `cache: ${err.message}`),
  });
  const bus = new PurgeBus();
  bus.join(cache);
  const id = `shield-${o.shield}-${hostname()}-${process.pid}-${Date.now().toString(36)}`;

  /**
   * The origin behind the shield's cache for one request: one hop, no redirects followed,
   * through the egress policy; `ms` is its time to headers when the cache went there.
   */
  const originOf = () => {
    const timing = { ms: Number.NaN };
    const fn: Origin = async (r) => {
      const started = performance.now();
      const headers: string[] = [];
      for (let i = 0; i < r.headers.length; i += 2)
        if (r.headers[i] !== 'host' && !isTierField(r.headers[i]))
          headers.push(r.headers[i], r.headers[i + 1]);
      const res = await undici().request(r.url, {
        method: r.method as 'GET',
        headers,
        dispatcher: egress.dispatcher,
      });
      const flat: string[] = [];
      // An origin cannot speak for the shield: the tier protocol's fields it sends are dropped.
      for (const [k, v] of Object.entries(res.headers))
        if (!isTierField(k)) for (const one of Array.isArray(v) ? v : [v ?? '']) flat.push(k, one);
      timing.ms = performance.now() - started;
      return { status: res.statusCode, statusText: '', headers: withoutHopByHop(flat), body: res.body };
    };
    return { fn, timing };
  };
  let purges: NodePurges | null = null;

  const refuse = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', [TIER_ERROR]: code });
    res.end(`${message}\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.url === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end('ok\n');
    }
    if (!secretMatches(header(req, TIER_SECRET), o.secret))
      return refuse(
        res,
        401,
        'unauthorized',
        'this is an Outpost shield: it answers only nodes of its network',
      );
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return refuse(res, 405, 'method', 'a shield fills caches: GET and HEAD only');
    const target = header(req, TIER_URL) ?? '';
    let url: URL;
    try {
      url = new URL(target);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      return refuse(res, 400, 'bad_url', `${TIER_URL} must be an absolute http(s) URL`);
    }
    let policy: CachePolicy;
    try {
      policy = parseTierPolicy(
        JSON.parse(Buffer.from(header(req, TIER_POLICY) ?? 'e30', 'base64url').toString('utf8')),
      );
    } catch (err) {
      return refuse(res, 400, 'bad_policy', (err as Error).message);
    }
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      if (!isTierField(name)) headers.push(name, req.rawHeaders[i + 1]);
    }
    const cacheReq: CacheRequest = { method: req.method, url: url.href, headers: withoutHopByHop(headers) };
    // A paused shield (SIGSTOP) must not serve what a purge it slept through removed.
    await purges?.checkAway();
    const origin = originOf();
    let a: Awaited<ReturnType<HttpCache['handle']>>;
    try {
      a = await cache.handle(cacheReq, origin.fn, policy);
    } catch (err) {
      const e = err as Error & { cause?: Error };
      const why = e.cause?.message ?? e.message;
      return refuse(res, 502, e.name === 'EgressRefusedError' ? 'egress_refused' : 'origin_unreachable', why);
    }
    const out: string[] = [];
    for (let i = 0; i < a.headers.length; i += 2) out.push(a.headers[i], a.headers[i + 1]);
    out.push(TIER_STATUS, a.cacheStatus);
    if (Number.isFinite(origin.timing.ms)) out.push(TIER_ORIGIN_MS, origin.timing.ms.toFixed(1));
    res.writeHead(a.status, out);
    if (req.method === 'HEAD' || !a.body) return void res.end();
    if (a.bytes) return void res.end(a.bytes);
    await relay(a.body, res);
  };

  // PoPs accept 32 KiB of request headers (src/pop/server.ts); the tier's own fields come on top.
  const server: Server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) refuse(res, 500, 'internal', err.message);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = o.advertise ?? `http://${o.host ?? '127.0.0.1'}:${addr.port}`;
  let membership: Membership | null = null;
  try {
    purges = await NodePurges.connect({
      servers: o.nats,
      node: id,
      pop: `shield:${o.shield}`,
      bus,
      ...(o.replicas ? { replicas: o.replicas } : {}),
      log: (m) => o.log('info', m),
    });
    membership = await Membership.connect({
      servers: o.nats,
      ...(o.leaveMs ? { leaveMs: o.leaveMs } : {}),
      ...(o.replicas ? { replicas: o.replicas } : {}),
    });
    const startedAt = new Date().toISOString();
    await membership.join(
      (): Member => ({
        id,
        pop: o.shield,
        role: 'shield',
        url,
        outpost: o.outpostVersion,
        workers: [],
        load: { inflight: 0, isolates: 0 },
        startedAt,
      }),
    );
  } catch (err) {
    await purges?.close();
    await membership?.close();
    server.close();
    throw err;
  }
  return {
    id,
    url,
    cache,
    close: async () => {
      await membership?.close();
      await purges?.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await egress.close().catch(() => {});
    },
  };
}
