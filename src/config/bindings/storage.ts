/**
 * D1 databases and R2 buckets in wrangler config, validated naming the key.
 *
 *   [[d1_databases]]   binding, database_name?, database_id?, preview_database_id?,
 *                      migrations_dir = "migrations", migrations_table = "d1_migrations"
 *   [[r2_buckets]]     binding, bucket_name?, preview_bucket_name?, jurisdiction?
 *
 * Cloudflare requires the id or bucket name; locally, one without gets storage of its worker's
 * own, `<worker name>:<binding>`, as KV namespaces without an id do (./kv.ts). Ids with ":" or
 * "/" are refused for the same reason: those name another worker's or account's storage.
 */
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { D1DatabaseBinding, R2BucketBinding } from '../types.ts';
import { BINDING_NAME, isTable } from './name.ts';

function listOf(file: string, key: string, raw: unknown, shape: string): Record<string, unknown>[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError(file, key, `an array of ${shape}`, raw);
  raw.forEach((b, i) => {
    if (!isTable(b)) throw new ConfigError(file, `${key}[${i}]`, `a table ${shape}`, b);
  });
  return raw as Record<string, unknown>[];
}

function binding(file: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || !BINDING_NAME.test(v))
    throw new ConfigError(file, `${key}.binding`, 'a JavaScript identifier', v);
  return v;
}

function optionalId(file: string, key: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > 256)
    throw new ConfigError(file, key, 'a non-empty string (at most 256 characters)', v);
  if (v.includes(':') || v.includes('/'))
    throw new ConfigError(file, key, 'an id without ":" or "/" (Outpost uses those for its own names)', v);
  return v;
}

export function parseD1Databases(
  file: string,
  raw: unknown,
  workerName: string,
  rootDir: string,
): D1DatabaseBinding[] {
  return listOf(file, 'd1_databases', raw, '{ binding, database_name, database_id }').map((b, i) => {
    const key = `d1_databases[${i}]`;
    const name = binding(file, key, b.binding);
    const id = optionalId(file, `${key}.database_id`, b.database_id);
    const databaseName = b.database_name;
    if (databaseName !== undefined && (typeof databaseName !== 'string' || databaseName === ''))
      throw new ConfigError(file, `${key}.database_name`, 'a non-empty string', databaseName);
    const dir = b.migrations_dir ?? 'migrations';
    if (typeof dir !== 'string' || dir === '')
      throw new ConfigError(file, `${key}.migrations_dir`, 'a folder path', dir);
    const table = b.migrations_table ?? 'd1_migrations';
    if (typeof table !== 'string' || !/^[A-Za-z_][\w]*$/.test(table))
      throw new ConfigError(file, `${key}.migrations_table`, 'an SQL table name', table);
    return {
      binding: name,
      ...(id === undefined ? { id: `${workerName}:${name}`, own: true } : { id }),
      databaseName: databaseName as string | undefined,
      migrationsDir: isAbsolute(dir) ? dir : resolve(rootDir, dir),
      migrationsTable: table,
    };
  });
}

export function parseR2Buckets(file: string, raw: unknown, workerName: string): R2BucketBinding[] {
  return listOf(file, 'r2_buckets', raw, '{ binding, bucket_name }').map((b, i) => {
    const key = `r2_buckets[${i}]`;
    const name = binding(file, key, b.binding);
    const bucket = optionalId(file, `${key}.bucket_name`, b.bucket_name);
    if (b.jurisdiction !== undefined && typeof b.jurisdiction !== 'string')
      throw new ConfigError(file, `${key}.jurisdiction`, 'a string such as "eu"', b.jurisdiction);
    return bucket === undefined
      ? { binding: name, bucket: `${workerName}:${name}`, own: true }
      : { binding: name, bucket };
  });
}
