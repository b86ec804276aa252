/**
 * A CacheStore on disk: bodies in files, the index in SQLite (better-sqlite3), so the cache
 * survives a restart. Least recently used entries go first past the byte budget.
 *
 * Writes are crash-safe in order: the body goes to a temporary file that is renamed into place,
 * then the index row commits; a row never points at a missing file, and files no row names
 * (a crash between the two steps) are removed at open. A failed write (disk full, unwritable)
 * stores nothing and reports through `onError`; reads of a missing body drop the row.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type CacheStore, checkBudget, type EntryMeta, entrySize, type StoredEntry } from './types.ts';

interface Row {
  key: string;
  variant: string;
  url: string;
  status: number;
  status_text: string;
  headers: string;
  vary: string;
  request_time: number;
  response_time: number;
  tags: string;
  size: number;
  file: string;
  edge: string;
}

export interface DiskStoreOptions {
  dir: string;
  /** Bytes of bodies and headers kept (default 1 GiB). */
  maxBytes?: number;
  onError?: (err: Error) => void;
}

export class DiskStore implements CacheStore {
  readonly maxBytes: number;
  readonly #db: Database.Database;
  readonly #bodies: string;
  readonly #onError: (err: Error) => void;
  #tick = 0;

  constructor(options: DiskStoreOptions) {
    this.maxBytes = checkBudget('DiskStore maxBytes', options.maxBytes, 1024 * 1024 * 1024);
    this.#onError = options.onError ?? (() => {});
    this.#bodies = join(options.dir, 'bodies');
    mkdirSync(this.#bodies, { recursive: true });
    this.#db = new Database(join(options.dir, 'index.sqlite'));
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS entries (
        key TEXT NOT NULL, variant TEXT NOT NULL, url TEXT NOT NULL, status INTEGER NOT NULL,
        status_text TEXT NOT NULL, headers TEXT NOT NULL, vary TEXT NOT NULL,
        request_time INTEGER NOT NULL, response_time INTEGER NOT NULL, tags TEXT NOT NULL,
        size INTEGER NOT NULL, file TEXT NOT NULL, used INTEGER NOT NULL,
        PRIMARY KEY (key, variant));
      CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
      CREATE INDEX IF NOT EXISTS entries_url ON entries (url);
      CREATE TABLE IF NOT EXISTS tags (tag TEXT NOT NULL, key TEXT NOT NULL, variant TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS tags_tag ON tags (tag);`);
    // Added after the first release of the index: older files gain the column.
    const columns = this.#db.prepare('PRAGMA table_info(entries)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'edge'))
      this.#db.exec("ALTER TABLE entries ADD COLUMN edge TEXT NOT NULL DEFAULT ''");
    this.#tick =
      (this.#db.prepare('SELECT max(used) AS m FROM entries').get() as { m: number | null }).m ?? 0;
    // Files no row names: a crash between writing a body and committing its row.
    const known = new Set(
      (this.#db.prepare('SELECT file FROM entries').all() as { file: string }[]).map((r) => r.file),
    );
    for (const f of readdirSync(this.#bodies))
      if (!known.has(f)) rmSync(join(this.#bodies, f), { force: true });
  }

  async get(key: string): Promise<StoredEntry[]> {
    const rows = this.#db
      .prepare('SELECT * FROM entries WHERE key = ? ORDER BY response_time DESC, rowid DESC')
      .all(key) as Row[];
    const out: StoredEntry[] = [];
    for (const row of rows) {
      let body: Buffer;
      try {
        body = await readFile(join(this.#bodies, row.file));
      } catch (err) {
        this.#onError(err as Error);
        this.#deleteRows('WHERE key = ? AND variant = ?', [row.key, row.variant]);
        continue;
      }
      this.#db
        .prepare('UPDATE entries SET used = ? WHERE key = ? AND variant = ?')
        .run(++this.#tick, row.key, row.variant);
      out.push({
        key: row.key,
        variant: row.variant,
        url: row.url,
        status: row.status,
        statusText: row.status_text,
        headers: JSON.parse(row.headers),
        vary: JSON.parse(row.vary),
        requestTime: row.request_time,
        responseTime: row.response_time,
        tags: JSON.parse(row.tags),
        ...(row.edge ? { edge: JSON.parse(row.edge) } : {}),
        body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      });
    }
    return out;
  }

  async put(meta: EntryMeta, body: Uint8Array): Promise<boolean> {
    const size = entrySize(meta, body);
    if (size > this.maxBytes) return false;
    const file = randomUUID();
    const tmp = join(this.#bodies, `.${file}.tmp`);
    try {
      await writeFile(tmp, body);
      await rename(tmp, join(this.#bodies, file));
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      this.#onError(err as Error);
      return false;
    }
    const insert = this.#db.transaction(() => {
      this.#deleteRows('WHERE key = ? AND variant = ?', [meta.key, meta.variant]);
      this.#db
        .prepare(
          'INSERT INTO entries (key, variant, url, status, status_text, headers, vary, request_time, response_time, tags, size, file, used, edge) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          meta.key,
          meta.variant,
          meta.url,
          meta.status,
          meta.statusText,
          JSON.stringify(meta.headers),
          JSON.stringify(meta.vary),
          meta.requestTime,
          meta.responseTime,
          JSON.stringify(meta.tags),
          size,
          file,
          ++this.#tick,
          meta.edge ? JSON.stringify(meta.edge) : '',
        );
      const tag = this.#db.prepare('INSERT INTO tags VALUES (?, ?, ?)');
      for (const t of new Set(meta.tags)) tag.run(t, meta.key, meta.variant);
    });
    insert();
    this.#evict(meta.key);
    return true;
  }

  async update(
    key: string,
    variant: string,
    changes: Pick<EntryMeta, 'headers' | 'requestTime' | 'responseTime'>,
  ): Promise<boolean> {
    const r = this.#db
      .prepare(
        'UPDATE entries SET headers = ?, request_time = ?, response_time = ?, used = ? WHERE key = ? AND variant = ?',
      )
      .run(
        JSON.stringify(changes.headers),
        changes.requestTime,
        changes.responseTime,
        ++this.#tick,
        key,
        variant,
      );
    return r.changes > 0;
  }

  async delete(key: string): Promise<boolean> {
    return this.#deleteRows('WHERE key = ?', [key]) > 0;
  }

  async purgePrefix(urlPrefix: string): Promise<number> {
    // substr comparison, not LIKE: URLs contain % and _.
    return this.#deleteRows('WHERE substr(url, 1, ?) = ?', [urlPrefix.length, urlPrefix]);
  }

  async purgeTag(tag: string): Promise<number> {
    return this.#deleteRows('WHERE (key, variant) IN (SELECT key, variant FROM tags WHERE tag = ?)', [tag]);
  }

  async purgeMatching(urlPrefix: string, test: (url: string) => boolean): Promise<number> {
    const rows = this.#db
      .prepare('SELECT key, variant, url FROM entries WHERE substr(url, 1, ?) = ?')
      .all(urlPrefix.length, urlPrefix) as Row[];
    let n = 0;
    for (const r of rows)
      if (test(r.url)) n += this.#deleteRows('WHERE key = ? AND variant = ?', [r.key, r.variant]);
    return n;
  }

  async clear(): Promise<number> {
    return this.#deleteRows('', []);
  }

  async stats() {
    const r = this.#db
      .prepare('SELECT coalesce(sum(size), 0) AS bytes, count(*) AS entries FROM entries')
      .get() as {
      bytes: number;
      entries: number;
    };
    return { bytes: r.bytes, entries: r.entries };
  }

  async topTags(limit: number): Promise<[string, number][]> {
    const rows = this.#db
      .prepare('SELECT tag, count(*) AS n FROM tags GROUP BY tag ORDER BY n DESC, tag LIMIT ?')
      .all(limit) as { tag: string; n: number }[];
    return rows.map((r) => [r.tag, r.n]);
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  /** Delete matching rows, their tags and their files; returns how many rows went. */
  #deleteRows(where: string, params: unknown[]): number {
    const rows = this.#db.prepare(`SELECT key, variant, file FROM entries ${where}`).all(...params) as Row[];
    if (rows.length === 0) return 0;
    const del = this.#db.transaction(() => {
      const e = this.#db.prepare('DELETE FROM entries WHERE key = ? AND variant = ?');
      const t = this.#db.prepare('DELETE FROM tags WHERE key = ? AND variant = ?');
      for (const r of rows) {
        e.run(r.key, r.variant);
        t.run(r.key, r.variant);
      }
    });
    del();
    for (const r of rows) {
      try {
        rmSync(join(this.#bodies, r.file), { force: true });
      } catch (err) {
        this.#onError(err as Error);
      }
    }
    return rows.length;
  }

  #evict(keep: string): void {
    for (;;) {
      const { bytes } = this.#db.prepare('SELECT coalesce(sum(size), 0) AS bytes FROM entries').get() as {
        bytes: number;
      };
      if (bytes <= this.maxBytes) return;
      const victim = this.#db
        .prepare('SELECT key, variant FROM entries WHERE key != ? ORDER BY used ASC LIMIT 1')
        .get(keep) as Row | undefined;
      if (!victim) return;
      this.#deleteRows('WHERE key = ? AND variant = ?', [victim.key, victim.variant]);
    }
  }
}
