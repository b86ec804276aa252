/**
 * The platform policies of `[security]` (outpost.toml), run by the PoP front on every request
 * before the worker runs (and so before any cache the worker uses), in the order WAF → rate
 * limits → JWT. Each step records a span (`outpost.policy.<name>`), counts its decision in
 * `outpost_policy_decisions_total`, and a request a step stops carries the step and reason in
 * its log line. The engines live in src/security/; this file only wires them to a request.
 *
 * Headers a JWT policy forwards claims in (X-User-ID, …) are removed from every request that
 * enters, whether or not a policy matched its path: a worker that trusts them must only ever
 * see values the edge put there.
 */
import type { SecurityConfig } from '../config/security.ts';
import type { KvPop } from '../kv/index.ts';
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
}

/** A request a policy stopped: the answer, and which step and why (for the request's log line). */
export interface PolicyStop {
  status: number;
  headers: [string, string][];
  body: string;
  /** e.g. "jwt:token_expired". */
  decision: string;
}

export interface PolicyDeps {
  /** A KV binding name of the worker, or a namespace id, as a namespace id. */
  kvNamespace?: (bindingOrId: string) => string | undefined;
  metrics?: EdgeMetrics;
  /** For JWKS documents (tests pass their own). */
  fetch?: typeof fetch;
}

function header(list: string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
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

  matches(path: string): boolean {
    return this.policy.patterns.some((p) => p.test(path));
  }
}

export class Policies {
  readonly #jwt: JwtStep[];
  /** Every header a JWT policy forwards a claim in: removed from what clients send. */
  readonly #claimHeaders: Set<string>;

  constructor(
    readonly config: SecurityConfig,
    readonly deps: PolicyDeps = {},
  ) {
    this.#jwt = config.jwt.map((p) => new JwtStep(p, deps));
    this.#claimHeaders = new Set(config.jwt.flatMap((p) => p.forward.map(([, h]) => h)));
  }

  /** Whether there is anything to run (a config with no policies costs nothing). */
  get empty(): boolean {
    return this.#jwt.length === 0;
  }

  /** Runs the policies; null: the request goes on (its headers possibly changed). */
  async apply(req: PolicyRequest): Promise<PolicyStop | null> {
    if (this.#claimHeaders.size > 0) {
      const h = req.headers;
      for (let i = h.length - 2; i >= 0; i -= 2) if (this.#claimHeaders.has(h[i])) h.splice(i, 2);
    }
    const path = req.url.pathname;
    for (const step of this.#jwt) {
      if (!step.matches(path)) continue;
      const span = req.scope?.recording
        ? req.scope.start('outpost.policy.jwt', SpanKind.INTERNAL, { 'outpost.policy': step.policy.at })
        : null;
      const token = tokenOf(step.policy, header(req.headers, 'authorization'), header(req.headers, 'cookie'));
      const result: JwtResult = await step.verifier(req).verify(token);
      const decision = result.ok ? 'allow' : result.reason;
      this.deps.metrics?.policy(req.pop, req.worker, 'jwt', decision);
      span?.end(
        {
          'outpost.policy.decision': decision,
          ...(result.ok && result.kid ? { 'outpost.jwt.kid': result.kid } : {}),
        },
        result.ok || result.status === 401 ? undefined : result.message,
      );
      if (!result.ok) {
        const answer = jwtFailure(result, req.url.hostname);
        return { ...answer, decision: `jwt:${result.reason}` };
      }
      for (const [name, value] of claimHeaders(step.policy, result.claims)) req.headers.push(name, value);
    }
    return null;
  }
}
