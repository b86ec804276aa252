/**
 * The response fields of a rate limit decision, as draft-ietf-httpapi-ratelimit-headers-11
 * defines them (structured fields, RFC 9651):
 *
 *   RateLimit-Policy: "name";q=100;w=60     §3, §3.1: the policy, an sf-string, with its quota
 *                                           (q, §3.1.1) and window in seconds (w, §3.1.3)
 *   RateLimit: "name";r=42;t=17             §4, §4.1: the quota available now (r, §4.1.1) and
 *                                           the seconds within which it applies (t, §4.1.2)
 *   Retry-After: 17                         RFC 9110 §10.2.3, on a refusal only; never earlier
 *                                           than the end of t (draft §6)
 *
 * Earlier drafts' RateLimit-Limit / -Remaining / -Reset are not sent.
 */
import type { RateLimitDecision, RateLimitRule } from './types.ts';

/**
 * A policy name as an sf-string (RFC 9651 §3.3.3): printable ASCII, `"` and `\` escaped;
 * anything else becomes "?" (config names are checked; this keeps a header valid whatever).
 */
export function sfString(s: string): string {
  return `"${s.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&')}"`;
}

export function rateLimitHeaders(
  rule: RateLimitRule,
  d: RateLimitDecision,
  policyName: string,
): [string, string][] {
  const name = sfString(policyName);
  const out: [string, string][] = [
    ['RateLimit-Policy', `${name};q=${rule.limit};w=${rule.periodSec}`],
    ['RateLimit', `${name};r=${d.remaining};t=${d.resetSec}`],
  ];
  if (!d.allowed) out.push(['Retry-After', String(d.retryAfterSec)]);
  return out;
}
