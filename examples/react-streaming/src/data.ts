// The personalised data: slow on purpose. The page starts both reads before it renders and
// hands the promises to the components that need them, so the shell never waits on them.
export interface Env {
  PROFILES: KVNamespace;
  API_ORIGIN: string;
}

export interface Profile {
  name: string;
  plan: string;
}

export interface Recommendation {
  title: string;
  reason: string;
}

const GUEST: Profile = { name: 'guest', plan: 'free' };

/** Resolves after `ms` (the simulated latency of an origin). */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The user's profile from KV, after the simulated delay: a miss renders a guest. */
export async function loadProfile(env: Env, user: string, delayMs: number): Promise<Profile> {
  const [stored] = await Promise.all([env.PROFILES.get<Profile>(`user:${user}`, 'json'), sleep(delayMs)]);
  return stored ?? GUEST;
}

/**
 * Recommendations from the origin (`API_ORIGIN`), or simulated with the delay when none is
 * configured, so the example runs with nothing else started.
 */
export async function loadRecommendations(
  env: Env,
  user: string,
  delayMs: number,
): Promise<Recommendation[]> {
  if (env.API_ORIGIN) {
    const res = await fetch(`${env.API_ORIGIN}/recommendations?user=${encodeURIComponent(user)}`);
    if (!res.ok) throw new Error(`recommendations: origin answered ${res.status}`);
    return res.json<Recommendation[]>();
  }
  await sleep(delayMs);
  return [
    {
      title: 'Edge caching in practice',
      reason: `popular with ${user === 'guest' ? 'visitors' : 'readers like you'}`,
    },
    { title: 'Streaming HTML with Suspense', reason: 'you read about React last week' },
    { title: 'KV consistency explained', reason: 'new this week' },
  ];
}
