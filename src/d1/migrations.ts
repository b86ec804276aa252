/**
 * D1 migrations as wrangler keeps them (https://developers.cloudflare.com/d1/reference/migrations/):
 * `NNNN_name.sql` files in the binding's `migrations_dir`, applied in order, each in one
 * transaction with its row in `migrations_table` (default `d1_migrations`), so a project's
 * folder works with `wrangler d1 migrations apply --local` and with Outpost alike.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { D1Databases, RowShape } from './database.ts';
import { splitStatements } from './database.ts';
import { D1Error } from './limits.ts';

export interface MigrationTarget {
  id: string;
  dir: string;
  table: string;
}

function ensureTable(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`;
}

/** The migration files of `dir`, in order. */
export function migrationFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
}

/** Names of migrations applied to the database. */
export async function appliedMigrations(db: D1Databases, t: MigrationTarget): Promise<string[]> {
  const [, r] = await db.query(t.id, [
    [ensureTable(t.table), [], 'raw'],
    [`SELECT name FROM ${t.table} ORDER BY id`, [], 'raw'],
  ]);
  return (r.results as unknown[][]).map((row) => String(row[0]));
}

/** Migrations in the folder not yet applied. */
export async function pendingMigrations(db: D1Databases, t: MigrationTarget): Promise<string[]> {
  const done = new Set(await appliedMigrations(db, t));
  return migrationFiles(t.dir).filter((f) => !done.has(f));
}

/** Apply every pending migration, each in its own transaction; answers the names applied. */
export async function applyMigrations(db: D1Databases, t: MigrationTarget): Promise<string[]> {
  const applied: string[] = [];
  for (const name of await pendingMigrations(db, t)) {
    const statements = splitStatements(readFileSync(join(t.dir, name), 'utf8'));
    try {
      await db.query(t.id, [
        ...statements.map((s) => [s, [], 'raw'] as [string, unknown[], RowShape]),
        [`INSERT INTO ${t.table} (name) VALUES (?)`, [name], 'raw'],
      ]);
    } catch (err) {
      throw new D1Error(`migration ${name} failed and was rolled back: ${(err as Error).message}`);
    }
    applied.push(name);
  }
  return applied;
}

/** Make the next migration file (`0002_add_users.sql`); answers its path. */
export function createMigration(dir: string, message: string): string {
  mkdirSync(dir, { recursive: true });
  const last = migrationFiles(dir)
    .map((f) => Number.parseInt(f, 10))
    .filter((n) => Number.isFinite(n));
  const next = String((last.length ? Math.max(...last) : 0) + 1).padStart(4, '0');
  const slug =
    message
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '') || 'migration';
  const file = join(dir, `${next}_${slug}.sql`);
  writeFileSync(file, `-- Migration number: ${next} \t ${new Date().toISOString()}\n`, { flag: 'wx' });
  return file;
}
