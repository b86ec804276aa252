// The seed's KV patterns ("Edge Data Architecture"), unchanged in spirit.
import type { Env } from './env';

export interface FeatureFlags {
  newCheckout: boolean;
  darkMode: boolean;
}

/** Pattern 1, read-through: KV first; on a miss the origin, written back without delaying the answer. */
export async function getFeatureFlags(env: Env, ctx: ExecutionContext, userId: string): Promise<FeatureFlags & { source: string }> {
  const cacheKey = `flags:${userId.slice(0, 2)}`; // sharded by user prefix, as the seed does
  const cached = await env.FLAGS_KV.get<FeatureFlags>(cacheKey, 'json');
  if (cached) return { ...cached, source: 'kv' };
  const flags = (await (await fetch(`${env.ORIGIN}/api/flags/${encodeURIComponent(userId)}`)).json()) as FeatureFlags;
  ctx.waitUntil(
    env.FLAGS_KV.put(cacheKey, JSON.stringify(flags), { expirationTtl: 300, metadata: { populatedAt: Date.now() } }),
  );
  return { ...flags, source: 'origin' };
}

export interface Preferences {
  locale?: string;
  theme?: string;
}

/** Preferences: KV first, the origin (the source of truth) on a miss, cached in KV for 5 minutes. */
export async function getPreferences(env: Env, userId: string): Promise<Preferences> {
  const key = `prefs:${userId}`;
  const cached = await env.USER_PREFS_KV.get<Preferences>(key, 'json');
  if (cached) return cached;
  const res = await fetch(`${env.ORIGIN}/api/users/${encodeURIComponent(userId)}/preferences`);
  const prefs = (await res.json()) as Preferences;
  await env.USER_PREFS_KV.put(key, JSON.stringify(prefs), { expirationTtl: 300 });
  return prefs;
}

/** Pattern 2, write-through: the origin first, then the KV copy deleted (the next read repopulates). */
export async function updatePreference(env: Env, userId: string, key: string, value: unknown): Promise<void> {
  const res = await fetch(`${env.ORIGIN}/api/users/${encodeURIComponent(userId)}/preferences`, {
    method: 'PATCH',
    body: JSON.stringify({ [key]: value }),
    headers: { 'content-type': 'application/json' },
  });
  if (!res.ok) throw new Error(`origin write failed: ${res.status}`);
  await env.USER_PREFS_KV.delete(`prefs:${userId}`);
}
