import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Secrets for local development, read from `.dev.vars` (dotenv syntax) beside the config,
 * as wrangler does (https://developers.cloudflare.com/workers/configuration/secrets/#local-development-with-secrets).
 * With `--env NAME`, `.dev.vars.NAME` is read instead when it exists. Null: neither exists.
 */
export function readDevVars(rootDir: string, env?: string): Record<string, string> | null {
  const specific = env === undefined ? undefined : join(rootDir, `.dev.vars.${env}`);
  const file = specific && existsSync(specific) ? specific : join(rootDir, '.dev.vars');
  if (!existsSync(file)) return null;
  return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
}
