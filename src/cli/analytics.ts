/**
 * `outpost analytics query "SELECT …"`: Workers Analytics Engine's SQL API on a project's
 * datasets (https://developers.cloudflare.com/analytics/analytics-engine/sql-api/), as
 * `POST /__outpost/analytics/sql` answers it. It reads the file `outpost dev` writes
 * (`.outpost/analytics/analytics.sqlite`, read-only: SQLite lets a running dev server and the
 * CLI share it; data points reach the file within a fraction of a second of being written), so
 * it works beside a running network and on a stopped one alike. The account is the config's
 * `account_id` (else the default account), or --account.
 */
import { readFileSync } from 'node:fs';
import { AnalyticsEngine, AnalyticsSqlError } from '../analytics/index.ts';
import { loadConfig } from '../config/index.ts';
import { analyticsFile } from '../pop/index.ts';
import { DEFAULT_ACCOUNT } from '../runtime/index.ts';
import { CliError } from './cache.ts';
import type { Command } from './commands.ts';

const query: Command = {
  name: 'analytics query',
  summary: "Run an Analytics Engine SQL query on the project's datasets (SHOW TABLES lists them)",
  args: '<sql>',
  options: [
    { name: 'project', type: 'string', default: '.', help: 'the Workers project folder' },
    { name: 'env', short: 'e', type: 'string', help: "the config's [env.NAME]" },
    { name: 'file', type: 'string', help: 'a file holding the query (instead of the argument)' },
    {
      name: 'account',
      type: 'string',
      help: "the account whose datasets to read (default: the config's account_id)",
    },
  ],
  async run([sql], v, io) {
    if ((sql === undefined) === (v.file === undefined))
      throw new CliError('give the query: outpost analytics query "SELECT …" (or --file FILE)');
    const text = sql ?? readFileSync(String(v.file), 'utf8');
    const config = loadConfig(String(v.project ?? '.'), {
      warn: () => {},
      devVars: false,
      ...(typeof v.env === 'string' ? { env: v.env } : {}),
    });
    const account = typeof v.account === 'string' ? v.account : (config.accountId ?? DEFAULT_ACCOUNT);
    const engine = new AnalyticsEngine({ file: analyticsFile(config.projectDir), readonly: true });
    try {
      const out = engine.query(account, text);
      io.out(out.format === 'JSON' ? `${JSON.stringify(out.answer, null, 2)}\n` : out.body);
    } catch (err) {
      if (err instanceof AnalyticsSqlError) throw new CliError(err.message);
      throw err;
    } finally {
      engine.close();
    }
    return 0;
  },
};

export const analyticsCommands: Command[] = [query];
