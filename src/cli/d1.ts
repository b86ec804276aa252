/**
 * `outpost d1 execute|export` and `outpost d1 migrations create|list|apply`, as wrangler's d1
 * commands with `--local` (https://developers.cloudflare.com/workers/wrangler/commands/#d1).
 * They work on the project's database files under `.outpost/d1/` (the ones `outpost dev`
 * serves; SQLite lets a running dev server and the CLI share them). A database is named by its
 * binding (`DB`) or its `database_name`, as in wrangler.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindingsOf, type D1DatabaseBinding, loadConfig, type WorkerConfig } from '../config/index.ts';
import {
  appliedMigrations,
  applyMigrations,
  createMigration,
  D1Databases,
  D1Error,
  migrationFiles,
  type RowShape,
  splitStatements,
} from '../d1/index.ts';
import { DEFAULT_ACCOUNT, d1DatabaseId } from '../runtime/index.ts';
import { CliError } from './cache.ts';
import type { Command, OptionSpec } from './commands.ts';

const COMMON: OptionSpec[] = [
  { name: 'project', type: 'string', default: '.', help: 'the Workers project folder' },
  { name: 'env', short: 'e', type: 'string', help: "the config's [env.NAME]" },
];

interface Target {
  config: WorkerConfig;
  binding: D1DatabaseBinding;
  id: string;
}

function target(name: string | undefined, v: Record<string, unknown>): Target {
  if (name === undefined) throw new CliError('give the database: its binding (DB) or database_name');
  const config = loadConfig(String(v.project ?? '.'), {
    warn: () => {},
    devVars: false,
    ...(typeof v.env === 'string' ? { env: v.env } : {}),
  });
  const all = bindingsOf(config.bindings, 'd1');
  const binding = all.find((b) => b.binding === name) ?? all.find((b) => b.databaseName === name);
  if (!binding)
    throw new CliError(
      `no D1 database "${name}" in ${config.configPath} (d1_databases has: ${all.map((b) => b.binding).join(', ') || 'none'})`,
    );
  return { config, binding, id: d1DatabaseId(config.name, config.accountId ?? DEFAULT_ACCOUNT, binding) };
}

async function withDatabases<T>(t: Target, fn: (dbs: D1Databases) => Promise<T>): Promise<T> {
  const dbs = new D1Databases(join(t.config.projectDir, '.outpost', 'd1'));
  try {
    return await fn(dbs);
  } catch (err) {
    if (err instanceof D1Error) throw new CliError(err.message);
    throw err;
  } finally {
    dbs.close();
  }
}

const execute: Command = {
  name: 'd1 execute',
  summary: 'Run SQL on a D1 database (--command or --file); prints the results as JSON',
  args: '<database>',
  options: [
    ...COMMON,
    { name: 'command', type: 'string', help: 'the SQL to run' },
    { name: 'file', type: 'string', help: 'a file of SQL statements to run' },
  ],
  async run([name], v, io) {
    if ((v.command === undefined) === (v.file === undefined))
      throw new CliError('give either --command SQL or --file FILE');
    const sql = typeof v.command === 'string' ? v.command : readFileSync(String(v.file), 'utf8');
    const statements = splitStatements(sql);
    if (statements.length === 0) throw new CliError('no SQL statements to run');
    const t = target(name, v);
    const results = await withDatabases(t, (dbs) =>
      dbs.query(
        t.id,
        statements.map((s) => [s, [], 'objects'] as [string, unknown[], RowShape]),
      ),
    );
    io.out(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  },
};

const exportDb: Command = {
  name: 'd1 export',
  summary: 'Write a D1 database to a file (the SQLite database itself)',
  args: '<database>',
  options: [...COMMON, { name: 'output', type: 'string', help: 'the file to write' }],
  async run([name], v, io) {
    if (typeof v.output !== 'string') throw new CliError('give --output FILE');
    const t = target(name, v);
    const bytes = await withDatabases(t, async (dbs) => dbs.dump(t.id));
    writeFileSync(v.output, bytes);
    io.out(`Wrote ${bytes.byteLength} bytes to ${v.output}\n`);
    return 0;
  },
};

const migrationsCreate: Command = {
  name: 'd1 migrations create',
  summary: "Make the next migration file in the database's migrations_dir",
  args: '<database> <message>',
  options: COMMON,
  async run([name, message], v, io) {
    if (message === undefined)
      throw new CliError('give a message: outpost d1 migrations create DB "add users"');
    const t = target(name, v);
    io.out(`Created ${createMigration(t.binding.migrationsDir, message)}\n`);
    return 0;
  },
};

const migrationsList: Command = {
  name: 'd1 migrations list',
  summary: 'List migrations not applied yet',
  args: '<database>',
  options: COMMON,
  async run([name], v, io) {
    const t = target(name, v);
    const done = new Set(
      await withDatabases(t, (dbs) =>
        appliedMigrations(dbs, { id: t.id, dir: t.binding.migrationsDir, table: t.binding.migrationsTable }),
      ),
    );
    const pending = migrationFiles(t.binding.migrationsDir).filter((f) => !done.has(f));
    io.out(pending.length ? `${pending.join('\n')}\n` : 'No migrations to apply.\n');
    return 0;
  },
};

const migrationsApply: Command = {
  name: 'd1 migrations apply',
  summary: 'Apply the migrations not applied yet, in order, each in one transaction',
  args: '<database>',
  options: COMMON,
  async run([name], v, io) {
    const t = target(name, v);
    const applied = await withDatabases(t, (dbs) =>
      applyMigrations(dbs, { id: t.id, dir: t.binding.migrationsDir, table: t.binding.migrationsTable }),
    );
    io.out(
      applied.length ? `Applied:\n${applied.map((a) => `  ${a}`).join('\n')}\n` : 'No migrations to apply.\n',
    );
    return 0;
  },
};

export const d1Commands: Command[] = [execute, exportDb, migrationsCreate, migrationsList, migrationsApply];
