import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Secrets for local development, read from `.dev.vars` (dotenv syntax) beside the config,
 * as wrangler does (https://developers.cloudflare.com/workers/configuration/secrets/#local-development-with-secrets).
 * `.dev.vars.<environment>` is not supported yet: Outpost has no environments.
 */
export function readDevVars(rootDir: string): Record<string, string> {
  const file = join(rootDir, '.dev.vars');
  if (!existsSync(file)) return {};
  return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
}
