/**
 * The PoP's admin endpoints, under `/__outpost/` on the PoP's own port. Every call needs
 * `Authorization: Bearer <token>` (OUTPOST_ADMIN_TOKEN, else `[admin] token` in outpost.toml,
 * else one `outpost dev` makes per run; the token in use is written to `.outpost/admin.json`
 * for the CLI, which looks for it in the same order), or a session of the dashboard served at
 * `/__outpost/` itself (reads, and actions with its CSRF token: src/dashboard/).
 *
 *   POST /__outpost/cache/purge  {"files"|"prefixes"|"tags": [...], "purge_everything": true, "worker": "name"}
 *        → 200 {"success": true, "purged": N, "caches": M}
 *   GET  /__outpost/cache/stats[?limit=N] → each cache (a PoP's HTTP cache and Cache API store, each
 *        shield's, the upper tier's): entries, bytes, lookups by status, hit ratio, the URLs asked
 *        most (counted while this is read) and the tags with most entries (N of each, default 10)
 *   GET  /__outpost/workers           → each deployed worker with its version, and since start its
 *        requests by status class, limit kills by limit, invocations, CPU per invocation, cold starts
 *   GET  /__outpost/deployments       → (a node) each worker's current deployment with its waves and
 *        status, and the version each node serves
 *   POST /__outpost/deployments/<worker>/rollback  {"version"?: "<hex prefix>"} → the new deployment
 *        (default: the version that served before the current one), as `outpost rollback`
 *   GET  /__outpost/kv/keys?binding=NAME (or namespace=ID)&prefix=P
 *        → 200 {"namespace", "pops", "keys": [{ key, latest, seen: {POP: version}, cached: {POP: version} }]}
 *        which version of each key every PoP sees, and what its cache holds (eventual consistency, visible)
 *   POST /__outpost/analytics/sql[?account=ID]   body: SQL text
 *        → 200 the answer in the query's FORMAT (JSON: {"meta", "data", "rows", "rows_before_limit_at_least"}),
 *        as Cloudflare's Analytics Engine SQL API; 400 naming what is wrong with the query
 *   GET  /__outpost/tail?worker=&status=ok,error,canceled&method=&search=&sampling=&max_rate=&traces=1
 *        → text/event-stream: each finished invocation as `data: <TailItem JSON>` (outpost tail),
 *        at most max_rate a second when given (the rest counted in a `: dropped N` comment);
 *        traces=1: requests are traced for /traces while the stream is open
 *   GET  /__outpost/requests?cache=HIT,MISS&worker=&max_rate=&traces=1 → text/event-stream: every
 *        request as it ends (worker or not) as `data: <JSON>` — ray, pop, worker, method, path,
 *        status, cache, ms, bytes — matching the filters, at most max_rate a second
 *   GET  /__outpost/traces             → the last kept traces, newest first (no spans)
 *   GET  /__outpost/traces?ray=R | ?trace=ID → one trace with its spans (the dashboard's waterfall)
 *   GET  /__outpost/network            → the topology's PoPs with their health and places (a network only)
 *   GET  /__outpost/network/stats      → each PoP's requests/s, errors, hit ratio, p50/p99 over the
 *        last 10 s, and its live isolates (recorded while this is read: the dashboard's map)
 *   POST /__outpost/network/pops/ID    {"down": true|false} → simulate a PoP's outage or recovery
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type AnalyticsEngine, AnalyticsSqlError } from '../analytics/index.ts';
import { type PurgeBus, PurgeError, type PurgeSelector, parsePurge } from '../cache/index.ts';
import { DeployError } from '../control/deployment.ts';
import { apiAccess, handleDashboard, isDashboardPath } from '../dashboard/index.ts';
import type { KvPop } from '../kv/index.ts';
import {
  type EdgeMetrics,
  noWorkerFigures,
  type RecentTraces,
  type RequestStream,
  type TailHub,
} from '../observability/index.ts';
import { DEFAULT_ACCOUNT } from '../runtime/index.ts';
import { json, requestSession, tailSession, traceRead } from './admin-streams.ts';

export const ADMIN_PREFIX = '/__outpost/';

/** A worker as deployed here: its name, version (`<name>@<bundle hash>`) and compatibility date. */
export interface DeployedWorker {
  name: string;
  version: string;
  compatibilityDate: string | null;
}
const MAX_BODY = 256 * 1024;

export interface AdminOptions {
  /** This server's PoP, shown by the dashboard. */
  pop?: string;
  /** A browser on this machine may open the dashboard without the token (`outpost dev` only). */
  dashboardLoopback?: boolean;
  /** The edge metrics, served as Prometheus text at /__outpost/metrics. */
  metrics?: EdgeMetrics;
  token: string;
  purges: PurgeBus;
  /** KV: the PoPs' views and how a binding name maps to a namespace id (worker mode). */
  kv?: { pops: KvPop[]; namespace(bindingOrId: string): string | undefined };
  /** A network of PoPs: its state, and outages to simulate. */
  network?: { status(): unknown; setOut(popId: string, out: boolean): void };
  /** Durable Objects: every object, where it lives, whether it is in memory. */
  objects?: { status(): unknown };
  /** Analytics Engine's datasets, for the SQL API (made on first use). */
  analytics?: () => AnalyticsEngine;
  /** Live tail: finished invocations, streamed to `outpost tail`. */
  tail?: TailHub;
  /** Every request as it ends (the dashboard's Requests view, by cache status). */
  requests?: RequestStream;
  /** The last requests' traces (the dashboard's waterfalls), traced while a tail asks for them. */
  traces?: RecentTraces;
  /**
   * A network of nodes: a purge sent to every node (as `outpost cache purge --nats`), answered
   * with each node's acknowledgement and those that gave none; unset: `purges`, this server's.
   */
  networkPurge?: (sel: PurgeSelector) => Promise<{
    purged: number;
    caches: number;
    byCache: { tier: 'pop' | 'shield'; id: string; node: string; purged: number }[];
    missing: { node: string; pop: string }[];
  }>;
  /** A network of nodes: its deployments, and a rollback (the dashboard's Workers view). */
  deployments?: {
    list(): Promise<unknown>;
    rollback(worker: string, version: string | undefined): Promise<unknown>;
  };
  /** The workers deployed here, with their versions (the dashboard's Workers view). */
  workers?: () => DeployedWorker[];
  /** Cron Triggers: the jobs (GET), and firing a worker's scheduled() now (POST, `outpost trigger scheduled`). */
  scheduled?: {
    list(): unknown;
    run(worker: string | undefined, cron: string | undefined): Promise<{ worker: string; cron: string }[]>;
  };
  /** Workflows: instances by status, the newest instances, one instance's status and steps. */
  workflows?: {
    counts(): unknown;
    list(filter: { workflow?: string; limit?: number }): unknown;
    status(ref: { account: string; workflow: string; id: string }): unknown;
    steps(ref: { account: string; workflow: string; id: string }): unknown;
  };
}

/**
 * A worker's cached response carries each tag twice, as `<worker>\u001f<tag>` (its own purges)
 * and bare (a zone-wide purge by tag): shown once, as `worker · tag`.
 */
function workerTags(tags: [string, number][], limit: number): [string, number][] {
  const scoped = new Set(
    tags.filter(([t]) => t.includes('\u001f')).map(([t]) => t.slice(t.indexOf('\u001f') + 1)),
  );
  return tags
    .filter(([t]) => t.includes('\u001f') || !scoped.has(t))
    .map(([t, n]): [string, number] => [t.replace('\u001f', ' · '), n])
    .slice(0, limit);
}

/** A PoP with no request in the window. */
const EMPTY_FIGURES = { requests: 0, rps: 0, errors: 0, hitRatio: null, p50: null, p99: null };

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new PurgeError(`the request body is larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readText(req);
  try {
    return JSON.parse(text);
  } catch {
    throw new PurgeError('the request body must be JSON');
  }
}

/** Answer an admin request; false when the path is not an admin path. */
export async function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  options: AdminOptions,
): Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0];
  if (!path.startsWith(ADMIN_PREFIX)) return false;
  if (isDashboardPath(path)) {
    await handleDashboard(req, res, path, {
      token: options.token,
      loopback: options.dashboardLoopback === true,
      features: {
        pop: options.pop ?? '',
        network: !!options.network,
        kv: !!options.kv,
        objects: !!options.objects,
        tail: !!options.tail,
        workers: !!options.workers && !!options.metrics,
        deployments: !!options.deployments,
        metrics: !!options.metrics,
      },
    });
    return true;
  }
  // The token, or a dashboard session (reads; actions with its CSRF token): src/dashboard/auth.ts.
  const { access, refused } = apiAccess(req, options.token, path.slice(ADMIN_PREFIX.length));
  if (!access) {
    json(
      res,
      refused ? 403 : 401,
      {
        success: false,
        errors: [{ message: refused ?? 'missing or wrong admin token (Authorization: Bearer …)' }],
      },
      refused ? {} : { 'www-authenticate': 'Bearer realm="outpost-admin"' },
    );
    return true;
  }
  if (path === `${ADMIN_PREFIX}cache/purge`) {
    if (req.method !== 'POST') {
      json(res, 405, { success: false, errors: [{ message: 'use POST' }] }, { allow: 'POST' });
      return true;
    }
    try {
      const sel = parsePurge(await readJson(req));
      const r = options.networkPurge ? await options.networkPurge(sel) : await options.purges.purge(sel);
      json(res, 200, { success: true, ...r });
    } catch (err) {
      if (!(err instanceof PurgeError)) throw err;
      json(res, 400, { success: false, errors: [{ message: err.message }] });
    }
    return true;
  }
  if (path === `${ADMIN_PREFIX}cache/stats`) {
    const raw = new URL(req.url ?? '/', 'http://admin').searchParams.get('limit');
    const limit = raw === null ? 10 : Number(raw);
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= 100)) {
      json(res, 400, {
        success: false,
        errors: [
          { message: `limit must be an integer from 1 to 100, received "${String(raw).slice(0, 40)}"` },
        ],
      });
      return true;
    }
    // Twice as many: a worker's tags come in pairs, shown once (workerTags).
    const caches = await options.purges.stats(limit * 2);
    for (const c of caches) {
      c.topKeys = c.topKeys.slice(0, limit);
      c.tags = workerTags(c.tags, limit);
    }
    json(res, 200, { success: true, caches });
    return true;
  }
  if (options.workers && options.metrics && path === `${ADMIN_PREFIX}workers`) {
    const figures = new Map((await options.metrics.workers()).map((f) => [f.worker, f]));
    const deployed = options.workers();
    const names = new Set([...deployed.map((d) => d.name), ...figures.keys()]);
    json(res, 200, {
      success: true,
      workers: [...names].sort().map((name) => ({
        ...(deployed.find((d) => d.name === name) ?? { name, version: null, compatibilityDate: null }),
        ...(figures.get(name) ?? noWorkerFigures(name)),
        worker: undefined,
      })),
    });
    return true;
  }
  if (options.deployments && path === `${ADMIN_PREFIX}deployments`) {
    json(res, 200, { success: true, workers: await options.deployments.list() });
    return true;
  }
  const rollback = /^\/__outpost\/deployments\/([^/]+)\/rollback$/.exec(path);
  if (options.deployments && rollback) {
    if (req.method !== 'POST') {
      json(res, 405, { success: false, errors: [{ message: 'use POST' }] }, { allow: 'POST' });
      return true;
    }
    try {
      const text = await readText(req);
      const body = text.trim() ? (JSON.parse(text) as { version?: unknown }) : {};
      if (body.version !== undefined && typeof body.version !== 'string')
        throw new DeployError('INVALID_VERSION', 'version must be a string (a version id or its hex prefix)');
      const deployment = await options.deployments.rollback(decodeURIComponent(rollback[1]), body.version);
      json(res, 200, { success: true, deployment });
    } catch (err) {
      if (!(err instanceof DeployError || err instanceof SyntaxError || err instanceof PurgeError)) throw err;
      const status = err instanceof DeployError && err.code === 'NOT_DEPLOYED' ? 404 : 400;
      json(res, status, { success: false, errors: [{ message: err.message }] });
    }
    return true;
  }
  if (path === `${ADMIN_PREFIX}kv/keys` && options.kv) {
    const q = new URL(req.url ?? '/', 'http://admin').searchParams;
    const name = q.get('binding') ?? q.get('namespace');
    const ns = name === null ? undefined : options.kv.namespace(name);
    if (ns === undefined) {
      json(res, 400, {
        success: false,
        errors: [
          { message: `give ?binding=NAME or ?namespace=ID of a KV namespace (received ${name ?? 'none'})` },
        ],
      });
      return true;
    }
    const pops = options.kv.pops;
    const states = await pops[0].store.inspect(
      ns,
      q.get('prefix') ?? '',
      pops.map((p) => p.id),
      Date.now(),
    );
    json(res, 200, {
      success: true,
      namespace: ns,
      pops: pops.map((p) => p.id),
      keys: states.map((st) => ({
        ...st,
        cached: Object.fromEntries(pops.map((p) => [p.id, p.cachedVersion(ns, st.key) ?? null])),
      })),
    });
    return true;
  }
  if (options.metrics && path === `${ADMIN_PREFIX}metrics`) {
    const text = await options.metrics.text();
    res.writeHead(200, { 'content-type': options.metrics.contentType });
    res.end(text);
    return true;
  }
  if (options.analytics && path === `${ADMIN_PREFIX}analytics/sql`) {
    if (req.method !== 'POST') {
      json(
        res,
        405,
        { success: false, errors: [{ message: 'use POST with the SQL as the body' }] },
        { allow: 'POST' },
      );
      return true;
    }
    const account = new URL(req.url ?? '/', 'http://admin').searchParams.get('account') ?? DEFAULT_ACCOUNT;
    try {
      const sql = await readText(req);
      // Every point written before the query is in it (with --nats, back from the stream).
      const engine = options.analytics();
      await engine.settle();
      const out = engine.query(account, sql);
      res.writeHead(200, { 'content-type': out.contentType, 'cache-control': 'no-store' });
      res.end(out.body);
    } catch (err) {
      if (!(err instanceof AnalyticsSqlError) && !(err instanceof PurgeError)) throw err;
      json(res, 400, { success: false, errors: [{ message: err.message }] });
    }
    return true;
  }
  if (options.scheduled && path === `${ADMIN_PREFIX}scheduled`) {
    if (req.method === 'GET') {
      json(res, 200, { success: true, jobs: options.scheduled.list() });
      return true;
    }
    if (req.method !== 'POST') {
      json(res, 405, { success: false, errors: [{ message: 'use GET or POST' }] }, { allow: 'GET, POST' });
      return true;
    }
    let body: { worker?: unknown; cron?: unknown };
    try {
      body = ((await readJson(req)) ?? {}) as typeof body;
    } catch (err) {
      json(res, 400, { success: false, errors: [{ message: (err as Error).message }] });
      return true;
    }
    if (
      (body.worker !== undefined && typeof body.worker !== 'string') ||
      (body.cron !== undefined && typeof body.cron !== 'string')
    ) {
      json(res, 400, { success: false, errors: [{ message: 'worker and cron must be strings' }] });
      return true;
    }
    try {
      const ran = await options.scheduled.run(body.worker, body.cron);
      json(res, 200, { success: true, ran });
    } catch (err) {
      json(res, 500, { success: false, errors: [{ message: (err as Error).message }] });
    }
    return true;
  }
  if (
    options.workflows &&
    (path === `${ADMIN_PREFIX}workflows` || path.startsWith(`${ADMIN_PREFIX}workflows/`))
  ) {
    workflowsAdmin(req, res, path.slice(`${ADMIN_PREFIX}workflows`.length), options.workflows);
    return true;
  }
  if (options.tail && path === `${ADMIN_PREFIX}tail`) {
    if (req.method !== 'GET') {
      json(res, 405, { success: false, errors: [{ message: 'use GET' }] }, { allow: 'GET' });
      return true;
    }
    tailSession(req, res, options.tail, options.traces);
    return true;
  }
  if (options.requests && path === `${ADMIN_PREFIX}requests`) {
    if (req.method !== 'GET') {
      json(res, 405, { success: false, errors: [{ message: 'use GET' }] }, { allow: 'GET' });
      return true;
    }
    requestSession(req, res, options.requests, options.traces);
    return true;
  }
  if (options.traces && path === `${ADMIN_PREFIX}traces`) {
    traceRead(req, res, options.traces);
    return true;
  }
  if (options.metrics && path === `${ADMIN_PREFIX}network/stats`) {
    const figures = options.metrics.window.read();
    const pops: Record<string, unknown> = {};
    for (const [pop, f] of Object.entries(figures)) pops[pop] = { ...f, isolates: null };
    for (const st of options.metrics.isolates())
      pops[st.pop] = { ...(figures[st.pop] ?? EMPTY_FIGURES), isolates: st.isolates };
    json(res, 200, { success: true, windowSeconds: options.metrics.window.seconds, pops });
    return true;
  }
  if (options.objects && path === `${ADMIN_PREFIX}do/objects`) {
    json(res, 200, { success: true, ...(options.objects.status() as object) });
    return true;
  }
  if (options.network && path === `${ADMIN_PREFIX}network`) {
    json(res, 200, { success: true, ...(options.network.status() as object) });
    return true;
  }
  const popPath = /^\/__outpost\/network\/pops\/([A-Za-z0-9_-]+)$/.exec(path);
  if (options.network && popPath) {
    if (req.method !== 'POST') {
      json(res, 405, { success: false, errors: [{ message: 'use POST' }] }, { allow: 'POST' });
      return true;
    }
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (err) {
      json(res, 400, { success: false, errors: [{ message: (err as Error).message }] });
      return true;
    }
    const down = (body as { down?: unknown } | null)?.down;
    if (typeof down !== 'boolean') {
      json(res, 400, {
        success: false,
        errors: [{ message: 'the body must be {"down": true} or {"down": false}' }],
      });
      return true;
    }
    try {
      options.network.setOut(popPath[1].toUpperCase(), down);
    } catch (err) {
      json(res, 404, { success: false, errors: [{ message: (err as Error).message }] });
      return true;
    }
    json(res, 200, { success: true, pop: popPath[1].toUpperCase(), down });
    return true;
  }
  json(res, 404, { success: false, errors: [{ message: `no admin endpoint ${path}` }] });
  return true;
}

/**
 * A random admin token for a dev run: hex, so it can be given as `--token X` (a base64url token
 * starts with "-" one time in 64, which an option parser takes for an option).
 */
export function newAdminToken(): string {
  return randomBytes(24).toString('hex');
}

/** Where the CLI finds a running dev network: `.outpost/admin.json` under the project folder. */
export function writeAdminFile(rootDir: string, url: string, token: string): string {
  const dir = join(rootDir, '.outpost');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'admin.json');
  writeFileSync(file, `${JSON.stringify({ url, token }, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/**
 * `GET /__outpost/workflows[?workflow=NAME&limit=N]`: instances by account, Workflow and status,
 * and the newest instances; `GET /__outpost/workflows/<account>/<workflow>/<id>`: one
 * instance's status and steps.
 */
function workflowsAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
  wf: NonNullable<AdminOptions['workflows']>,
): void {
  if (req.method !== 'GET') {
    json(res, 405, { success: false, errors: [{ message: 'use GET' }] }, { allow: 'GET' });
    return;
  }
  if (rest === '' || rest === '/') {
    const q = new URL(req.url ?? '/', 'http://admin').searchParams;
    const limit = Number(q.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      json(res, 400, {
        success: false,
        errors: [{ message: 'limit must be a whole number from 1 to 1000' }],
      });
      return;
    }
    const workflow = q.get('workflow') ?? undefined;
    json(res, 200, {
      success: true,
      counts: wf.counts(),
      instances: wf.list({ ...(workflow ? { workflow } : {}), limit }),
    });
    return;
  }
  let parts: string[];
  try {
    parts = rest.slice(1).split('/').map(decodeURIComponent);
  } catch {
    parts = [];
  }
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    json(res, 404, {
      success: false,
      errors: [{ message: 'use /__outpost/workflows/<account>/<workflow>/<id>' }],
    });
    return;
  }
  const ref = { account: parts[0], workflow: parts[1], id: parts[2] };
  try {
    json(res, 200, { success: true, ...(wf.status(ref) as object), steps: wf.steps(ref) });
  } catch (err) {
    json(res, 404, { success: false, errors: [{ message: (err as Error).message }] });
  }
}
