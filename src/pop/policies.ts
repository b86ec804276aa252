/**
 * The platform policies of `[security]` (outpost.toml), run by the PoP front on every request
 * before the worker runs (and so before any cache the worker uses), in the order WAF → rate
 * limits → JWT. Each step records a span (`outpost.policy.<name>`), counts its decision in
 * `outpost_policy_decisions_total`, and the request's log line carries every step's decision
 * (`policy`). The engines live in src/security/; this file only wires them to a request.
 *
 * Headers a JWT policy forwards claims in (X-User-ID, …) are removed from every request that
 * enters, whether or not a policy matched its path: a worker that trusts them must only ever
 * see values the edge put there.
 */
import { routeForms, type SecurityConfig } from '../config/security.ts';
import type { ObjectPlacement } from '../durable-objects/index.ts';
import type { KvPop } from '../kv/index.ts';
import { PLATFORM_REQUEST_HEADERS } from '../network/index.ts';
import type { Observer } from '../observability/logger.ts';
import type { EdgeMetrics } from '../observability/metrics.ts';
import { SpanKind, type TraceScope } from '../observability/trace.ts';
import {
  claimHeaders,
  type JwtResult,
  JwtVerifier,
  jwtFailure,
  type KeyResolver,
  keyResolver,
  tokenOf,
} from '../security/jwt/index.ts';
import {
  MAX_SHARED_SLIDING,
  parseRateLimitPolicy,
  type RateLimitDecision,
  RateLimiter,
  type RateLimitPolicy,
  rateLimitHeaders,
} from '../security/ratelimit/index.ts';
import {
  parseWafConfig,
  Waf,
  type WafConfig,
  type WafVerdict,
  wafBlockHeaders,
} from '../security/waf/index.ts';
import type { PeekableBody } from './body.ts';

/** One request as the policies see it. `headers` is the flat list sent to the worker: changed in place. */
export interface PolicyRequest {
  method: string;
  url: URL;
  headers: string[];
  pop: string;
  worker: string;
  /** The request's place in its trace (undefined: not traced). */
  scope: TraceScope | undefined;
  /** The PoP's KV (keys of a `keys_kv` JWT policy are read there). */
  kv: KvPop | null;
  /** Filled with header fields for the response (RateLimit, RateLimit-Policy), flat. */
  responseHeaders?: string[];
  /** The request target as the client sent it (the WAF inspects it before URL parsing changes it). */
  target?: string;
  /** The body, when there is one: the WAF reads a prefix (and may replace it, sanitizing). */
  body?: PeekableBody | null;
  /** Set when the WAF sanitized the query: the URL the worker gets instead. */
  rewrittenUrl?: string;
  /** Filled with each step's decision (`waf:allow`, `rate_limit:api:allow`, `jwt:allow`): the log line's `policy`. */
  decisions?: string[];
}

/** A request a policy stopped: the answer, and which step and why (for the request's log line). */
export interface PolicyStop {
  status: number;
  headers: [string, string][];
  body: string;
}

export interface PolicyDeps {
  /** A KV binding name of the worker, or a namespace id, as a namespace id. */
  kvNamespace?: (bindingOrId: string) => string | undefined;
  metrics?: EdgeMetrics;
  /** For JWKS documents (tests pass their own). */
  fetch?: typeof fetch;
  /** The counters of rate-limit policies (default: one in this process, the network's single owner). */
  limiter?: RateLimiter;
  /** Where WAF matches are logged (rule id, category, part). */
  observer?: Observer;
  /**
   * A network's placement of Durable Objects: an exact (sliding or fixed) rate-limit counter is
   * placed as an object would be — at the PoP of its key's first hit — and a hit from another
   * PoP pays the round trip to it (waited with latency simulation). None: one PoP, no trip.
   */
  placement?: ObjectPlacement;
  /**
   * The host a request is for, as routes read it (default: its URL's): `outpost dev` gives the
   * zone's name for its own address, as it does for worker routes (src/pop/site.ts).
   */
  hostOf?: (url: URL) => string;
}

/** Counters whose owner PoP is remembered at most (then the oldest is placed afresh). */
const MAX_PLACED = 100_000;

function all(list: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) out.push(list[i + 1]);
  return out;
}

function header(list: string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

/**
 * The forms of a path a policy's patterns are matched against: as parsed (dot segments already
 * resolved, `\` already `/`), percent-decoded, and with repeated slashes collapsed. A policy
 * applies when any form matches — a worker's router may decode `/%61pi/x` to `/api/x` or
 * collapse `//api/x`, so a policy on `/api/*` must not be stepped around that way.
 */
export function canonicalPath(path: string): string {
  let decoded = path;
  for (let i = 0; i < 3 && decoded.includes('%'); i++)
    decoded = decoded.replace(/%([0-7][0-9a-f])/gi, (_, h: string) =>
      String.fromCharCode(Number.parseInt(h, 16)),
    );
  return decoded.replace(/\/{2,}/g, '/');
}

export function pathForms(path: string): string[] {
  const forms = [path];
  // ASCII escapes only, each on its own (a malformed one elsewhere must not stop the rest).
  let decoded = path;
  for (let i = 0; i < 3 && decoded.includes('%'); i++)
    decoded = decoded.replace(/%([0-7][0-9a-f])/gi, (_, h: string) =>
      String.fromCharCode(Number.parseInt(h, 16)),
    );
  for (const f of [decoded, path.replace(/\/{2,}/g, '/'), decoded.replace(/\/{2,}/g, '/')])
    if (!forms.includes(f)) forms.push(f);
  return forms;
}

class JwtStep {
  readonly #jwks: JwtVerifier | null;
  /** KV keys are read at the request's PoP: one resolver (and key cache) per PoP. */
  readonly #byPop = new Map<string, JwtVerifier>();
  constructor(
    readonly policy: SecurityConfig['jwt'][number],
    readonly deps: PolicyDeps,
  ) {
    this.#jwks =
      policy.keys.kind === 'jwks'
        ? new JwtVerifier(policy, keyResolver(policy.keys, deps.fetch ? { fetch: deps.fetch } : {}))
        : null;
  }

  verifier(req: PolicyRequest): JwtVerifier {
    if (this.#jwks) return this.#jwks;
    let r = this.#byPop.get(req.pop);
    if (!r) {
      const source = this.policy.keys as Extract<typeof this.policy.keys, { kind: 'kv' }>;
      const ns = this.deps.kvNamespace?.(source.namespace) ?? source.namespace;
      const kv = req.kv;
      const resolver: KeyResolver = keyResolver(
        { ...source, namespace: ns },
        {
          kvRead: async (namespace, key) => {
            if (!kv) throw new Error('this PoP has no KV');
            const v = await kv.get(namespace, key);
            return v ? new TextDecoder().decode(v.value) : null;
          },
        },
      );
      r = new JwtVerifier(this.policy, resolver);
      this.#byPop.set(req.pop, r);
    }
    return r;
  }

  matches(paths: string[]): boolean {
    return this.policy.patterns.some((p) => paths.some((path) => p.test(path)));
  }
}

export class Policies {
  readonly #jwt: JwtStep[];
  readonly #limits: RateLimitPolicy[];
  readonly #limiter: RateLimiter;
  /** Some policy's route names a host. */
  readonly #hosted: boolean;
  /** Where each exact counter lives (its owner PoP), by namespace and key. */
  readonly #owners = new Map<string, string>();
  readonly #waf: { engine: Waf; config: WafConfig } | null;
  /** Every header a JWT policy forwards a claim in: removed from what clients send. */
  readonly #claimHeaders: Set<string>;

  /** Throws an Error naming the file and key when a `[[security.rate_limit]]` table is invalid. */
  constructor(
    readonly config: SecurityConfig,
    readonly deps: PolicyDeps = {},
  ) {
    this.#jwt = config.jwt.map((p) => new JwtStep(p, deps));
    try {
      this.#limits = config.rateLimit.map((raw, i) => parseRateLimitPolicy(raw, `security.rate_limit[${i}]`));
    } catch (err) {
      throw new Error(`${config.file}: ${(err as Error).message}`);
    }
    this.#limiter = deps.limiter ?? new RateLimiter();
    this.#hosted = [...config.jwt.map((p) => p.paths), ...this.#limits.map((p) => p.paths)].some((list) =>
      list.some((p) => !p.startsWith('/')),
    );
    if (this.#limiter.shared)
      this.#limits.forEach((p, i) => {
        // A shared sliding counter is stored whole on every hit: bounded (./nats-store.ts).
        if (p.rule.mode === 'sliding' && Math.ceil(p.rule.limit / p.rule.shards) > MAX_SHARED_SLIDING)
          throw new Error(
            `${config.file}: security.rate_limit[${i}] ("${p.name}"): a sliding window shared across processes holds at most ${MAX_SHARED_SLIDING} hits per shard, received limit ${p.rule.limit} with ${p.rule.shards} shard(s); use mode = "fixed", or shards = ${Math.ceil(p.rule.limit / MAX_SHARED_SLIDING)} or more`,
          );
      });
    let waf: WafConfig | null = null;
    try {
      waf = config.waf === undefined ? null : parseWafConfig(config.waf, 'security.waf');
    } catch (err) {
      throw new Error(`${config.file}: ${(err as Error).message}`);
    }
    this.#waf = waf ? { engine: new Waf(waf), config: waf } : null;
    this.#claimHeaders = new Set(config.jwt.flatMap((p) => p.forward.map(([, h]) => h)));
  }

  /** Whether there is anything to run (a config with no policies costs nothing). */
  get empty(): boolean {
    return this.#jwt.length === 0 && this.#limits.length === 0 && this.#waf === null;
  }

  /** Runs the policies; null: the request goes on (its headers possibly changed). */
  async apply(req: PolicyRequest): Promise<PolicyStop | null> {
    if (this.#claimHeaders.size > 0) {
      // `x_user_id` too: a CGI-style origin reads it as HTTP_X_USER_ID, as it reads x-user-id.
      const h = req.headers;
      for (let i = h.length - 2; i >= 0; i -= 2)
        if (this.#claimHeaders.has(h[i].includes('_') ? h[i].replaceAll('_', '-') : h[i])) h.splice(i, 2);
    }
    if (this.#waf) {
      const stop = await this.#inspect(this.#waf.engine, this.#waf.config, req);
      if (stop) return stop;
    }
    const path = req.url.pathname;
    // Routes with a host ("api.example.com/*") are matched against the host and the path.
    const paths = this.#hosted
      ? routeForms(this.deps.hostOf?.(req.url) ?? req.url.hostname, pathForms(path))
      : pathForms(path);
    const jwtSteps = this.#jwt.filter((s) => s.matches(paths));
    const limits = this.#limits.filter(
      (p) =>
        p.patterns.some((r) => paths.some((f) => r.test(f))) &&
        (!p.methods || p.methods.includes(req.method.toUpperCase())),
    );
    // A limit keyed by a claim counts by the verified token's claim, so verification comes
    // first; its failure is answered after the limits, in the documented order.
    const verified =
      limits.some((p) => p.key.kind === 'claim') || jwtSteps.length > 0
        ? await Promise.all(jwtSteps.map((s) => this.#verify(s, req)))
        : [];
    for (const policy of limits) {
      const stop = await this.#limit(policy, req, verified);
      if (stop) return stop;
    }
    for (let i = 0; i < jwtSteps.length; i++) {
      const result = verified[i];
      const decision = result.ok ? 'allow' : result.reason;
      this.deps.metrics?.policy(req.pop, req.worker, 'jwt', decision);
      req.decisions?.push(`jwt:${decision}`);
      if (!result.ok) return jwtFailure(result, req.url.hostname);
      for (const [name, value] of claimHeaders(jwtSteps[i].policy, result.claims))
        req.headers.push(name, value);
    }
    return null;
  }

  /**
   * The WAF over the request as the client sent it: target, headers and a prefix of the body
   * (`inspect_body_bytes`). Every match is logged with its rule id and counted; a request at
   * the threshold is answered 403 (the rule id in a header only with `reveal_rule_id`).
   */
  async #inspect(waf: Waf, config: WafConfig, req: PolicyRequest): Promise<PolicyStop | null> {
    const span = req.scope?.recording ? req.scope.start('outpost.policy.waf', SpanKind.INTERNAL) : null;
    const target = req.target ?? `${req.url.pathname}${req.url.search}`;
    const q = target.indexOf('?');
    const pairs: [string, string][] = [];
    const h = req.headers;
    // The fields the platform sets (a client's own values were dropped at the front) are not
    // the client's input — except X-Forwarded-For, which carries what the client sent in it.
    for (let i = 0; i < h.length; i += 2)
      if (!PLATFORM_REQUEST_HEADERS.has(h[i]) || h[i] === 'x-forwarded-for') pairs.push([h[i], h[i + 1]]);
    let body: Uint8Array | undefined;
    let truncated = false;
    if (req.body && config.inspectBodyBytes > 0) {
      try {
        ({ bytes: body, truncated } = await req.body.prefix(config.inspectBodyBytes));
      } catch {
        // A body that failed to arrive is the worker's (and the client's) problem, not a match.
      }
    }
    const verdict: WafVerdict = waf.inspect({
      method: req.method,
      path: q < 0 ? target : target.slice(0, q),
      query: q < 0 ? '' : target.slice(q + 1),
      headers: pairs,
      ...(body ? { body, bodyTruncated: truncated } : {}),
      ...(header(req.headers, 'content-type') ? { contentType: header(req.headers, 'content-type') } : {}),
    });
    for (const m of verdict.matches) this.deps.metrics?.wafMatch(req.pop, req.worker, m.id, m.category);
    this.deps.metrics?.policy(req.pop, req.worker, 'waf', verdict.action);
    req.decisions?.push(`waf:${verdict.action}`);
    if (verdict.matches.length)
      this.deps.observer?.log({
        level: 'warn',
        source: 'outpost',
        message: `waf: ${verdict.action} ${req.method} ${req.url.pathname.slice(0, 200)} (score ${verdict.score}${truncated ? ', body prefix only' : ''})`,
        fields: {
          worker: req.worker,
          pop: req.pop,
          score: verdict.score,
          rules: verdict.matches.map((m) => `${m.id}:${m.category}@${m.part}${m.name ? `(${m.name})` : ''}`),
        },
      });
    span?.end({
      'outpost.policy.decision': verdict.action,
      'outpost.waf.score': verdict.score,
      ...(verdict.matches.length ? { 'outpost.waf.rules': verdict.matches.map((m) => m.id).join(',') } : {}),
    });
    if (verdict.action === 'block') {
      return {
        status: 403,
        headers: [
          ['content-type', 'application/json'],
          ['cache-control', 'no-store'],
          ...wafBlockHeaders(config, verdict),
        ],
        body: JSON.stringify({
          error: 'blocked',
          message: 'The request was blocked by the web application firewall.',
        }),
      };
    }
    if (verdict.sanitized?.query !== undefined) {
      const u = new URL(req.url.href);
      u.search = verdict.sanitized.query;
      req.rewrittenUrl = u.href;
    }
    if (verdict.sanitized?.body && req.body) {
      req.body.replace(verdict.sanitized.body);
      const h = req.headers;
      for (let i = 0; i < h.length; i += 2)
        if (h[i] === 'content-length') h[i + 1] = String(verdict.sanitized.body.byteLength);
    }
    return null;
  }

  /** One JWT check; whatever goes wrong inside fails closed, as a 401. */
  async #check(step: JwtStep, req: PolicyRequest): Promise<JwtResult> {
    const auth = all(req.headers, 'authorization');
    // Two Authorization fields: the edge would check one and the worker might read the other.
    if (auth.length > 1)
      return {
        ok: false,
        reason: 'malformed_token',
        message: 'more than one Authorization field',
        status: 401,
      };
    // Cookie fields (HTTP/2 sends one per cookie) read as one list (RFC 9113 §8.2.3).
    const cookies = all(req.headers, 'cookie');
    try {
      return await step
        .verifier(req)
        .verify(tokenOf(step.policy, auth[0], cookies.length ? cookies.join('; ') : undefined));
    } catch (err) {
      return {
        ok: false,
        reason: 'malformed_token',
        message: `the token could not be read: ${(err as Error)?.message}`.slice(0, 200),
        status: 401,
      };
    }
  }

  async #verify(step: JwtStep, req: PolicyRequest): Promise<JwtResult> {
    const span = req.scope?.recording
      ? req.scope.start('outpost.policy.jwt', SpanKind.INTERNAL, { 'outpost.policy': step.policy.at })
      : null;
    const result = await this.#check(step, req);
    span?.end(
      {
        'outpost.policy.decision': result.ok ? 'allow' : result.reason,
        ...(result.ok && result.kid ? { 'outpost.jwt.kid': result.kid } : {}),
      },
      result.ok || result.status === 401 ? undefined : result.message,
    );
    return result;
  }

  /** When the shared counters last failed and were logged (at most one line in 10 s). */
  #warnedAt = 0;
  #warnShared(message: string): void {
    const now = Date.now();
    if (now - this.#warnedAt < 10_000) return;
    this.#warnedAt = now;
    this.deps.observer?.log({
      level: 'warn',
      source: 'outpost',
      message: `rate limiting failed open (requests are let through uncounted): ${message}`,
    });
  }

  /** The PoP an exact counter lives in: placed at its first hit, as a Durable Object is. */
  #owner(namespace: string, key: string, policy: RateLimitPolicy, pop: string): string {
    if (!this.deps.placement || policy.rule.mode === 'local') return pop;
    const k = `${namespace}\u0000${key}`;
    let owner = this.#owners.get(k);
    if (owner === undefined) {
      owner = this.deps.placement.place(pop, null);
      if (this.#owners.size >= MAX_PLACED) this.#owners.delete(this.#owners.keys().next().value as string);
      this.#owners.set(k, owner);
    }
    return owner;
  }

  /**
   * One rate-limit policy's hit. The key: the client's address (CF-Connecting-IP, as the
   * worker would see it), the path, a request header, or a claim of a verified token; a request
   * without the header or a verified claim is counted by its client address instead.
   */
  async #limit(
    policy: RateLimitPolicy,
    req: PolicyRequest,
    verified: JwtResult[],
  ): Promise<PolicyStop | null> {
    const ip = header(req.headers, 'cf-connecting-ip') ?? '';
    const k = policy.key;
    let key: string;
    // The path as a router would read it (decoded, slashes collapsed): /%6cogin and //login
    // are /login, and count as /login.
    if (k.kind === 'path') key = `path:${canonicalPath(req.url.pathname)}`;
    else if (k.kind === 'header') {
      const v = header(req.headers, k.name);
      key = v === undefined ? `ip:${ip}` : `header:${v}`;
    } else if (k.kind === 'claim') {
      const claims = verified.find((r) => r.ok && r.claims[k.claim] !== undefined);
      const v = claims?.ok ? claims.claims[k.claim] : undefined;
      key = v === undefined ? `ip:${ip}` : `claim:${typeof v === 'string' ? v : JSON.stringify(v)}`;
    } else key = `ip:${ip}`;
    const span = req.scope?.recording
      ? req.scope.start('outpost.policy.rate_limit', SpanKind.INTERNAL, { 'outpost.policy': policy.name })
      : null;
    const namespace = `${req.worker}\u0000${policy.name}`;
    const owner = this.#owner(namespace, key, policy, req.pop);
    if (owner !== req.pop && this.deps.placement) {
      const trip = this.deps.placement.trip(req.pop, owner);
      if (trip.wait && trip.ms > 0) await new Promise((r) => setTimeout(r, trip.ms));
    }
    let d: RateLimitDecision;
    try {
      d = await this.#limiter.check(namespace, key, policy.rule, req.pop);
    } catch (err) {
      // The shared counters cannot be reached (NATS down, a key lost every race): the request
      // goes on uncounted rather than the site going down with them — logged, counted, traced.
      const message = (err as Error).message;
      this.#warnShared(message);
      this.deps.metrics?.policy(req.pop, req.worker, 'rate_limit', 'error');
      req.decisions?.push(`rate_limit:${policy.name}:error`);
      span?.end({ 'outpost.policy.decision': 'error' }, message);
      return null;
    }
    const headers = rateLimitHeaders(policy.rule, d, policy.name);
    this.deps.metrics?.policy(req.pop, req.worker, 'rate_limit', d.allowed ? 'allow' : 'block');
    req.decisions?.push(`rate_limit:${policy.name}:${d.allowed ? 'allow' : 'block'}`);
    span?.end({
      'outpost.policy.decision': d.allowed ? 'allow' : 'block',
      'outpost.ratelimit.remaining': d.remaining,
      'outpost.ratelimit.location': owner,
    });
    if (d.allowed) {
      for (const [n, v] of headers) req.responseHeaders?.push(n.toLowerCase(), v);
      return null;
    }
    return {
      status: 429,
      headers: [
        ['content-type', 'application/json'],
        ['cache-control', 'no-store'],
        ...headers.map(([n, v]) => [n.toLowerCase(), v] as [string, string]),
      ],
      body: JSON.stringify({
        error: 'rate_limited',
        policy: policy.name,
        message: `more than ${policy.rule.limit} requests in ${policy.rule.periodSec} s`,
        retry_after: d.retryAfterSec,
      }),
    };
  }
}
