export { type KeyResolver, KeySourceUnavailable, type KvRead, keyResolver, UnknownKey } from './keys.ts';
export { claimHeaders, jwtFailure } from './policy.ts';
export { type JwtReason, type JwtResult, JwtVerifier, tokenOf } from './verify.ts';
