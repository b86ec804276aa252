/**
 * A JWT policy's check of one request: find the token (Authorization: Bearer, or a cookie),
 * verify it with jose against the policy's keys and claims, and say why when it fails, with a
 * stable reason code. Signature algorithms are the policy's list only: the token's `alg` header
 * chooses among them, never beyond (no `none`, no HS256 with an RSA public key as the secret —
 * jose refuses key types that do not fit the algorithm, and keys.ts imports a JWK for the
 * token's algorithm only when the JWK allows it).
 *
 * Failures answer 401 (RFC 6750 §3: `WWW-Authenticate: Bearer` with `error="invalid_token"`,
 * or no error attribute when no token was sent at all); a key source that cannot be read with
 * no earlier copy answers 503 — failing closed, the request does not reach the worker.
 */
import { decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import type { JwtPolicyConfig } from '../../config/security.ts';
import { type KeyResolver, KeySourceUnavailable, UnknownKey } from './keys.ts';

export type JwtReason =
  | 'missing_token'
  | 'malformed_token'
  | 'token_too_large'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'invalid_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'invalid_issuer'
  | 'invalid_audience'
  | 'missing_claim'
  | 'invalid_claims'
  | 'key_source_unavailable';

export type JwtResult =
  | { ok: true; claims: JWTPayload; kid: string | undefined; alg: string }
  | { ok: false; reason: JwtReason; message: string; status: 401 | 503 };

const fail = (reason: JwtReason, message: string, status: 401 | 503 = 401): JwtResult => ({
  ok: false,
  reason,
  message,
  status,
});

/** base64url segments: header.payload.signature (RFC 7515 §7.1). */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The token a request carries for `policy`, or undefined. `cookie` is the Cookie header. */
export function tokenOf(
  policy: Pick<JwtPolicyConfig, 'cookie'>,
  authorization: string | undefined,
  cookie: string | undefined,
): string | undefined {
  if (policy.cookie !== undefined) {
    if (!cookie) return undefined;
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === policy.cookie) return part.slice(eq + 1).trim() || undefined;
    }
    return undefined;
  }
  if (!authorization) return undefined;
  // RFC 6750 §2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
  const m = /^bearer +(\S+) *$/i.exec(authorization);
  return m ? m[1] : undefined;
}

/** Verified tokens remembered per policy: a bound on memory whatever tokens arrive. */
const MAX_REMEMBERED = 10_000;

export class JwtVerifier {
  /**
   * Tokens that verified, by their text: a session sends the same token with every request,
   * and an RSA signature costs tens of microseconds to check. A token is immutable, so only
   * time can change its verdict: exp and nbf are checked again on every use, and a verdict is
   * kept no longer than the keys it was checked with (the key source's cache time), so a key
   * withdrawn from KV or the JWKS stops verifying within that time, as it would uncached.
   */
  readonly #verified = new Map<string, { result: Extract<JwtResult, { ok: true }>; until: number }>();

  constructor(
    readonly policy: JwtPolicyConfig,
    readonly keys: KeyResolver,
    readonly now: () => number = Date.now,
  ) {}

  async verify(token: string | undefined): Promise<JwtResult> {
    if (token !== undefined) {
      const known = this.#verified.get(token);
      if (known) {
        const t = this.now();
        if (t < known.until) return this.#recheck(known.result, t);
        this.#verified.delete(token);
      }
    }
    const result = await this.#verify(token);
    if (result.ok && token !== undefined) {
      if (this.#verified.size >= MAX_REMEMBERED)
        this.#verified.delete(this.#verified.keys().next().value as string);
      this.#verified.set(token, { result, until: this.now() + this.policy.keys.cacheSec * 1000 });
    }
    return result;
  }

  /** A remembered verdict at time `t`: exp and nbf move with the clock (RFC 7519 §4.1.4, §4.1.5). */
  #recheck(result: Extract<JwtResult, { ok: true }>, t: number): JwtResult {
    const { exp, nbf } = result.claims;
    // Whole seconds, compared as jose compares them.
    const s = Math.floor(t / 1000);
    const leeway = this.policy.leewaySec;
    if (typeof exp === 'number' && exp <= s - leeway)
      return fail('token_expired', 'the token has expired (exp)');
    if (typeof nbf === 'number' && nbf > s + leeway)
      return fail('token_not_yet_valid', 'the token is not valid yet (nbf)');
    return result;
  }

  async #verify(token: string | undefined): Promise<JwtResult> {
    const p = this.policy;
    if (token === undefined || token === '')
      return fail(
        'missing_token',
        p.cookie ? `no token in cookie "${p.cookie}"` : 'no Authorization: Bearer token',
      );
    if (token.length > p.maxTokenBytes)
      return fail('token_too_large', `the token is ${token.length} bytes, more than ${p.maxTokenBytes}`);
    if (!COMPACT.test(token)) return fail('malformed_token', 'not a compact JWS (three base64url parts)');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return fail('malformed_token', 'the token header is not base64url JSON');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || !(p.algorithms as string[]).includes(alg))
      return fail(
        'unsupported_algorithm',
        `alg ${typeof alg === 'string' ? JSON.stringify(alg.slice(0, 40)) : `of type ${alg === null ? 'null' : typeof alg}`} is not one of ${p.algorithms.join(', ')}`,
      );
    if (header.crit !== undefined) return fail('malformed_token', 'the token has critical header parameters');
    try {
      const { payload } = await jwtVerify(token, (h) => this.keys.key(h), {
        algorithms: p.algorithms,
        ...(p.issuer ? { issuer: p.issuer } : {}),
        ...(p.audience ? { audience: p.audience } : {}),
        clockTolerance: p.leewaySec,
        requiredClaims: p.requiredClaims,
        currentDate: new Date(this.now()),
      });
      return { ok: true, claims: payload, kid: header.kid, alg };
    } catch (err) {
      return reasonOf(err);
    }
  }
}

function reasonOf(err: unknown): JwtResult {
  if (err instanceof KeySourceUnavailable) return fail('key_source_unavailable', err.message, 503);
  if (err instanceof UnknownKey) return fail('unknown_key', err.message);
  const e = err as { code?: string; claim?: string; reason?: string; message?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return fail('token_expired', 'the token has expired (exp)');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return fail('invalid_signature', 'the signature does not verify');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return fail('unsupported_algorithm', e.message ?? 'algorithm not allowed');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return fail('unknown_key', e.message ?? 'no matching key');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.reason === 'missing') return fail('missing_claim', `the token has no "${e.claim}" claim`);
      if (e.claim === 'nbf') return fail('token_not_yet_valid', 'the token is not valid yet (nbf)');
      if (e.claim === 'iss') return fail('invalid_issuer', 'the token was issued by another issuer (iss)');
      if (e.claim === 'aud') return fail('invalid_audience', 'the token is for another audience (aud)');
      return fail('invalid_claims', `claim "${e.claim}" is invalid`);
    case 'ERR_JWT_INVALID':
    case 'ERR_JWS_INVALID':
      return fail('malformed_token', e.message ?? 'invalid token');
  }
  // A key of the wrong type for the algorithm (jose throws TypeError): not this token's key.
  if (err instanceof TypeError)
    return fail('unknown_key', `the key cannot verify this token: ${err.message}`);
  return fail('invalid_signature', (e.message ?? String(err)).slice(0, 200));
}
