/**
 * The index of every bucket in one folder: an SQLite database (better-sqlite3, WAL) with a row
 * per object, per multipart upload and per uploaded part. Keys are stored as their UTF-8 bytes
 * (BLOBs compare bytewise), so a listing is in R2's order and a prefix is one range of the
 * primary key. An object's body is the list of files it is made of: one for a put(), the parts
 * in order for a completed multipart upload, none for an empty object.
 *
 * Writers take the database's write lock (BEGIN IMMEDIATE), so the dev server and the CLI can
 * share a folder; every change that frees files returns their names, for the caller to remove
 * once the change has committed.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { conditionHolds } from './conditions.ts';
import type { R2Conditional, R2ObjectMeta } from './types.ts';

export type Segment = [name: string, size: number];

export interface ObjectRow {
  bucket: string;
  key: Buffer;
  version: string;
  size: number;
  etag: string;
  uploaded: number;
  http_metadata: string;
  custom_metadata: string;
  checksums: string;
  storage_class: string;
  /** JSON Segment[] */
  files: string;
}

export const UPLOAD_IN_PROGRESS = 0;
export const UPLOAD_COMPLETED = 1;
export const UPLOAD_ABORTED = 2;

export interface UploadRow {
  upload_id: string;
  bucket: string;
  key: Buffer;
  http_metadata: string;
  custom_metadata: string;
  storage_class: string;
  state: number;
  created: number;
}

export interface PartRow {
  upload_id: string;
  part_number: number;
  file: string;
  size: number;
  etag: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key BLOB NOT NULL, version TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, uploaded INTEGER NOT NULL, http_metadata TEXT NOT NULL,
    custom_metadata TEXT NOT NULL, checksums TEXT NOT NULL, storage_class TEXT NOT NULL,
    files TEXT NOT NULL,
    PRIMARY KEY (bucket, key)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL,
    http_metadata TEXT NOT NULL, custom_metadata TEXT NOT NULL, storage_class TEXT NOT NULL,
    state INTEGER NOT NULL, created INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, file TEXT NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number));`;

export function segmentsOf(row: { files: string }): Segment[] {
  return JSON.parse(row.files) as Segment[];
}

export function newVersion(): string {
  return randomBytes(16).toString('hex');
}

/** The row's object as the API shows it; metadata only when `include`d. */
export function metaOf(
  row: ObjectRow,
  include: { http: boolean; custom: boolean } = { http: true, custom: true },
): R2ObjectMeta {
  return {
    key: row.key.toString('utf8'),
    version: row.version,
    size: row.size,
    etag: row.etag,
    uploaded: row.uploaded,
    ...(include.http ? { httpMetadata: JSON.parse(row.http_metadata) } : {}),
    ...(include.custom ? { customMetadata: JSON.parse(row.custom_metadata) } : {}),
    checksums: JSON.parse(row.checksums),
    storageClass: row.storage_class,
  };
}

const names = (segments: Segment[]) => segments.map((s) => s[0]);

export class R2Index {
  readonly #db: Database.Database;

  constructor(file: string) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(SCHEMA);
  }

  object(bucket: string, key: Buffer): ObjectRow | undefined {
    return this.#db.prepare('SELECT * FROM objects WHERE bucket = ? AND key = ?').get(bucket, key) as
      | ObjectRow
      | undefined;
  }

  /**
   * Store `row` in place of the object at its key, if `onlyIf` holds for what is there now
   * (checked under the write lock). Answers the files the old object no longer needs, or null
   * when the condition failed and nothing changed.
   */
  replace(row: ObjectRow, onlyIf?: R2Conditional): string[] | null {
    return this.#db
      .transaction(() => {
        const old = this.object(row.bucket, row.key);
        if (onlyIf && !conditionHolds(onlyIf, old)) return null;
        this.#upsert(row);
        return old ? names(segmentsOf(old)) : [];
      })
      .immediate();
  }

  #upsert(row: ObjectRow): void {
    this.#db
      .prepare(
        `INSERT OR REPLACE INTO objects (bucket, key, version, size, etag, uploaded, http_metadata,
           custom_metadata, checksums, storage_class, files)
         VALUES (@bucket, @key, @version, @size, @etag, @uploaded, @http_metadata, @custom_metadata,
           @checksums, @storage_class, @files)`,
      )
      .run(row);
  }

  /** Delete objects; answers the files they were made of. */
  delete(bucket: string, keys: Buffer[]): string[] {
    return this.#db
      .transaction(() => {
        const freed: string[] = [];
        const del = this.#db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING files');
        for (const key of keys) {
          const r = del.get(bucket, key) as { files: string } | undefined;
          if (r) freed.push(...names(segmentsOf(r)));
        }
        return freed;
      })
      .immediate();
  }

  /** Up to `limit` objects of `bucket` with keys in [from, to) (to null: no upper bound), in key order. */
  range(bucket: string, from: Buffer, to: Buffer | null, limit: number): ObjectRow[] {
    return (
      to
        ? this.#db
            .prepare('SELECT * FROM objects WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?')
            .all(bucket, from, to, limit)
        : this.#db
            .prepare('SELECT * FROM objects WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?')
            .all(bucket, from, limit)
    ) as ObjectRow[];
  }

  createUpload(row: UploadRow): void {
    this.#db
      .prepare(
        `INSERT INTO uploads (upload_id, bucket, key, http_metadata, custom_metadata, storage_class, state, created)
         VALUES (@upload_id, @bucket, @key, @http_metadata, @custom_metadata, @storage_class, @state, @created)`,
      )
      .run(row);
  }

  upload(uploadId: string): UploadRow | undefined {
    return this.#db.prepare('SELECT * FROM uploads WHERE upload_id = ?').get(uploadId) as
      | UploadRow
      | undefined;
  }

  /**
   * Record an uploaded part, if its upload is still `check`'s idea of in progress (checked
   * under the write lock). Answers the file of the part it replaces, if any.
   */
  putPart(part: PartRow, check: (u: UploadRow | undefined) => void): string | undefined {
    return this.#db
      .transaction(() => {
        check(this.upload(part.upload_id));
        const old = this.#db
          .prepare('SELECT file FROM parts WHERE upload_id = ? AND part_number = ?')
          .get(part.upload_id, part.part_number) as { file: string } | undefined;
        this.#db
          .prepare(
            `INSERT OR REPLACE INTO parts (upload_id, part_number, file, size, etag)
             VALUES (@upload_id, @part_number, @file, @size, @etag)`,
          )
          .run(part);
        return old?.file;
      })
      .immediate();
  }

  parts(uploadId: string): PartRow[] {
    return this.#db
      .prepare('SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number')
      .all(uploadId) as PartRow[];
  }

  /**
   * Finish an upload under the write lock: `build` checks the upload and its parts (throwing
   * R2's error) and makes the object's row from the parts it chose; the row replaces the object
   * at its key, the upload is marked completed and its other parts dropped. Answers the row
   * and the files nothing uses any more.
   */
  complete(
    uploadId: string,
    build: (upload: UploadRow | undefined, parts: PartRow[]) => { row: ObjectRow; used: Set<number> },
  ): { row: ObjectRow; freed: string[] } {
    return this.#db
      .transaction(() => {
        const parts = this.parts(uploadId);
        const { row, used } = build(this.upload(uploadId), parts);
        const old = this.object(row.bucket, row.key);
        this.#upsert(row);
        this.#db.prepare('DELETE FROM parts WHERE upload_id = ?').run(uploadId);
        this.#setState(uploadId, UPLOAD_COMPLETED);
        const freed = parts.filter((p) => !used.has(p.part_number)).map((p) => p.file);
        if (old) freed.push(...names(segmentsOf(old)));
        return { row, freed };
      })
      .immediate();
  }

  /** Abort an upload in progress; answers its parts' files (none if it had finished). */
  abort(uploadId: string): string[] {
    return this.#db
      .transaction(() => {
        const u = this.upload(uploadId);
        if (!u || u.state !== UPLOAD_IN_PROGRESS) return [];
        const files = this.parts(uploadId).map((p) => p.file);
        this.#db.prepare('DELETE FROM parts WHERE upload_id = ?').run(uploadId);
        this.#setState(uploadId, UPLOAD_ABORTED);
        return files;
      })
      .immediate();
  }

  #setState(uploadId: string, state: number): void {
    this.#db.prepare('UPDATE uploads SET state = ? WHERE upload_id = ?').run(state, uploadId);
  }

  /**
   * R2's lifecycle rule for multipart uploads: ones started before `before` are aborted (and
   * the records of finished ones forgotten). Answers the files of their parts.
   */
  expireUploads(before: number): string[] {
    return this.#db
      .transaction(() => {
        const old = this.#db
          .prepare('SELECT upload_id, state FROM uploads WHERE created < ?')
          .all(before) as UploadRow[];
        const files: string[] = [];
        for (const u of old) {
          for (const p of this.parts(u.upload_id)) files.push(p.file);
          this.#db.prepare('DELETE FROM parts WHERE upload_id = ?').run(u.upload_id);
          this.#db.prepare('DELETE FROM uploads WHERE upload_id = ?').run(u.upload_id);
        }
        return files;
      })
      .immediate();
  }

  /** Every file a row names (for the sweep of files nothing names). */
  knownFiles(): Set<string> {
    const known = new Set<string>();
    for (const r of this.#db.prepare('SELECT files FROM objects').all() as { files: string }[])
      for (const n of names(segmentsOf(r))) known.add(n);
    for (const r of this.#db.prepare('SELECT file FROM parts').all() as { file: string }[]) known.add(r.file);
    return known;
  }

  close(): void {
    this.#db.close();
  }
}
