/**
 * Where a JWT policy's verification keys come from, and how long they are trusted.
 *
 * JWKS URL: the document is fetched on first use and kept `cacheSec`. A token naming a `kid`
 * the cached set does not have fetches it again — at most once per `cooldownSec`, so a flood
 * of tokens with made-up kids costs the identity provider one request per cooldown. When a
 * refresh fails (the provider is down), the last good set stays in use (stale-if-error):
 * rotation is "publish the new key, then sign with it", and an outage of the provider does not
 * take the edge down with it. Key selection within a set (kid, alg, kty, use) is jose's
 * createLocalJWKSet.
 *
 * KV namespace (the seed's arrangement): one JWK as JSON per kid at `<prefix><kid>`, read at
 * the request's PoP (eventually consistent: write a new key to KV before signing with it).
 * Found keys are kept `cacheSec`; a kid not found is remembered for `cooldownSec`, so made-up
 * kids cost one KV read per cooldown each, in a bounded map.
 */
import {
  createLocalJWKSet,
  type FlattenedJWSInput,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import type { JwtKeySource } from '../../config/security.ts';

/** The key material jose verifies with. */
export type VerifyKey = Awaited<ReturnType<typeof importJWK>>;

/** The key source could not be read and no earlier copy exists: the request fails closed (503). */
export class KeySourceUnavailable extends Error {}
/** No key with the token's kid (after a refresh, if the cooldown allowed one). */
export class UnknownKey extends Error {}

export interface KeyResolver {
  key(header: JWSHeaderParameters): Promise<VerifyKey>;
}

/** Reads one value from a KV namespace at the request's PoP. */
export type KvRead = (namespace: string, key: string) => Promise<string | null>;

/** Keys remembered per KV source (found and not found): a bound on memory whatever kids arrive. */
const MAX_REMEMBERED = 1024;

export function keyResolver(
  source: JwtKeySource,
  deps: { fetch?: typeof fetch; kvRead?: KvRead; now?: () => number },
): KeyResolver {
  const now = deps.now ?? Date.now;
  if (source.kind === 'jwks') return new JwksResolver(source, deps.fetch ?? fetch, now);
  if (!deps.kvRead) throw new Error('a KV key source needs a KV reader');
  return new KvResolver(source, deps.kvRead, now);
}

class JwksResolver implements KeyResolver {
  #set: ReturnType<typeof createLocalJWKSet> | null = null;
  #fetchedAt = -Infinity;
  #attemptAt = -Infinity;
  #loading: Promise<void> | null = null;
  constructor(
    readonly source: Extract<JwtKeySource, { kind: 'jwks' }>,
    readonly fetchFn: typeof fetch,
    readonly now: () => number,
  ) {}

  async key(header: JWSHeaderParameters): Promise<VerifyKey> {
    const t = this.now();
    // Never fetched successfully: a failing provider is asked again once per cooldown, not once
    // per request (requests in between fail closed at once).
    if (!this.#set && t - this.#attemptAt < this.source.cooldownSec * 1000 && !this.#loading)
      throw new KeySourceUnavailable(
        `the JWKS at ${this.source.url} could not be read (retried every ${this.source.cooldownSec} s)`,
      );
    if (!this.#set || t - this.#fetchedAt >= this.source.cacheSec * 1000) await this.#refresh();
    try {
      return await this.#select(header);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      // An unknown kid may be a key published since the last fetch: fetch again, once per cooldown.
      if (this.now() - this.#attemptAt < this.source.cooldownSec * 1000)
        throw new UnknownKey(`no key "${header.kid ?? '(no kid)'}" for ${header.alg} in ${this.source.url}`);
      await this.#refresh();
      try {
        return await this.#select(header);
      } catch (again) {
        if ((again as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY')
          throw new UnknownKey(
            `no key "${header.kid ?? '(no kid)'}" for ${header.alg} in ${this.source.url}`,
          );
        throw again;
      }
    }
  }

  #select(header: JWSHeaderParameters): Promise<VerifyKey> {
    if (!this.#set) throw new KeySourceUnavailable(`the JWKS at ${this.source.url} could not be read`);
    return this.#set(header, { payload: '', signature: '' } as FlattenedJWSInput) as Promise<VerifyKey>;
  }

  /** One fetch at a time; a failure keeps the last good set (and fails only when there is none). */
  #refresh(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = null;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    this.#attemptAt = this.now();
    try {
      const res = await this.fetchFn(this.source.url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.source.timeoutMs),
        redirect: 'error',
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      if (text.length > 1_048_576) throw new Error('the document is larger than 1 MiB');
      const jwks = JSON.parse(text) as JSONWebKeySet;
      if (!jwks || !Array.isArray(jwks.keys)) throw new Error('not a JWKS (no "keys" array)');
      this.#set = createLocalJWKSet(jwks);
      this.#fetchedAt = this.now();
    } catch (err) {
      if (!this.#set)
        throw new KeySourceUnavailable(
          `the JWKS at ${this.source.url} could not be read: ${(err as Error).message}`,
        );
      // Stale-if-error: keep verifying with the last good set, try again after the cooldown.
      this.#fetchedAt = this.now() - this.source.cacheSec * 1000 + this.source.cooldownSec * 1000;
    }
  }
}

interface KvEntry {
  /** null: not found. */
  jwk: JWK | null;
  /** Imported per algorithm (a JWK without `alg` may serve RS256 and PS256, as different keys). */
  imported: Map<string, VerifyKey>;
  at: number;
}

class KvResolver implements KeyResolver {
  readonly #known = new Map<string, KvEntry>();
  constructor(
    readonly source: Extract<JwtKeySource, { kind: 'kv' }>,
    readonly read: KvRead,
    readonly now: () => number,
  ) {}

  async key(header: JWSHeaderParameters): Promise<VerifyKey> {
    const kid = header.kid;
    const alg = String(header.alg);
    if (typeof kid !== 'string' || kid === '' || kid.length > 256)
      throw new UnknownKey('the token has no kid: keys in KV are found by kid');
    const t = this.now();
    let entry = this.#known.get(kid);
    const ttl = entry?.jwk ? this.source.cacheSec : this.source.cooldownSec;
    if (!entry || t - entry.at >= ttl * 1000) {
      entry = { jwk: await this.#load(kid), imported: new Map(), at: t };
      this.#known.delete(kid);
      if (this.#known.size >= MAX_REMEMBERED) this.#known.delete(this.#known.keys().next().value as string);
      this.#known.set(kid, entry);
    }
    const jwk = entry.jwk;
    if (!jwk) throw new UnknownKey(`no key "${kid}" in KV namespace ${this.source.namespace}`);
    // A JWK that names its algorithm is used with that algorithm only (no RS256 key for PS256).
    if (jwk.alg !== undefined && jwk.alg !== alg)
      throw new UnknownKey(`key "${kid}" is for ${jwk.alg}, the token says ${alg}`);
    let key = entry.imported.get(alg);
    if (!key) {
      try {
        key = await importJWK(jwk, alg);
      } catch (err) {
        // E.g. an RSA key offered for HS256 (algorithm confusion): not a key for this token.
        throw new UnknownKey(`key "${kid}" cannot verify ${alg}: ${(err as Error).message}`);
      }
      entry.imported.set(alg, key);
    }
    return key;
  }

  async #load(kid: string): Promise<JWK | null> {
    let text: string | null;
    try {
      text = await this.read(this.source.namespace, `${this.source.prefix}${kid}`);
    } catch (err) {
      throw new KeySourceUnavailable(
        `KV namespace ${this.source.namespace} could not be read: ${(err as Error).message}`,
      );
    }
    if (text === null) return null;
    try {
      const jwk = JSON.parse(text) as JWK;
      if (typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string') throw new Error('no "kty"');
      return jwk;
    } catch (err) {
      throw new KeySourceUnavailable(
        `KV key "${this.source.prefix}${kid}" is not a JWK: ${(err as Error).message}`,
      );
    }
  }
}
