/**
 * The page's side of the admin API: the config the server rendered (the session's CSRF token,
 * which endpoints exist), JSON reads, and actions that carry the CSRF token. The session cookie
 * goes along by itself (same origin).
 */

import type { DashboardFeatures } from '../features.ts';

interface Config {
  csrf: string;
  features: DashboardFeatures;
}

const element = document.getElementById('outpost-config');
export const config: Config = JSON.parse(element?.textContent ?? '{}');

export const ADMIN = '/__outpost/';

/** An admin API error, with the message the server gave. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function answer<T>(r: Response): Promise<T> {
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    // Sessions live in the server's memory: a restart (or a new admin token) ends them.
    const message =
      r.status === 401
        ? 'the session ended (the server restarted, or its token changed): reload the page'
        : (body?.errors?.[0]?.message ?? `${r.status} ${r.statusText}`);
    throw new ApiError(message, r.status);
  }
  return body as T;
}

export async function getJson<T>(path: string): Promise<T> {
  return answer<T>(await fetch(ADMIN + path, { headers: { accept: 'application/json' } }));
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return answer<T>(
    await fetch(ADMIN + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-outpost-csrf': config.csrf },
      body: JSON.stringify(body),
    }),
  );
}
