/**
 * What a JWT policy does to a request around the verification: the answer when it fails, and
 * the claims it passes on as headers when it succeeds (after removing whatever the client sent
 * in those headers — a worker that trusts X-User-ID must only ever see the edge's value).
 */
import type { JWTPayload } from 'jose';
import type { JwtPolicyConfig } from '../../config/security.ts';
import type { JwtResult } from './verify.ts';

/** A header value from a claim: strings as they are, lists joined by commas, others as JSON. */
function claimValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const text =
    typeof v === 'string'
      ? v
      : Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')
        ? v.join(',')
        : typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : JSON.stringify(v);
  // A header value cannot carry CR, LF or other controls (RFC 9110 §5.5): they are dropped.
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '').slice(0, 4096);
}

/** The headers to send the worker for a verified token's claims. */
export function claimHeaders(policy: JwtPolicyConfig, claims: JWTPayload): [string, string][] {
  const out: [string, string][] = [];
  for (const [claim, header] of policy.forward) {
    const v = claimValue(claims[claim]);
    if (v !== undefined) out.push([header, v]);
  }
  return out;
}

/** The 401 (or 503) a failed check answers, as JSON with its reason code. */
export function jwtFailure(
  result: Extract<JwtResult, { ok: false }>,
  realm: string,
): { status: number; headers: [string, string][]; body: string } {
  const quoted = realm.replace(/["\\]/g, '');
  // RFC 6750 §3.1: a request without any token gets the challenge without an error code.
  const challenge =
    result.reason === 'missing_token'
      ? `Bearer realm="${quoted}"`
      : result.status === 401
        ? `Bearer realm="${quoted}", error="invalid_token", error_description="${result.reason}"`
        : undefined;
  return {
    status: result.status,
    headers: [
      ['content-type', 'application/json'],
      ['cache-control', 'no-store'],
      ...(challenge ? ([['www-authenticate', challenge]] as [string, string][]) : []),
    ],
    body: JSON.stringify({
      error: result.status === 401 ? 'invalid_token' : 'unavailable',
      reason: result.reason,
      message: result.message,
    }),
  };
}
