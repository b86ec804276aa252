/**
 * Where every Durable Object lives: the network-wide directory (an index database beside the
 * objects' own databases). An object is placed at the PoP nearest its first request (or its
 * locationHint) and stays there: `place` records the first answer and returns it ever after,
 * across restarts. Alarms are indexed here too, so they fire after a restart without opening
 * every object's database.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DO_LIMITS } from './limits.ts';
import { ObjectStorage } from './storage.ts';

export interface PlacedObject {
  namespace: string;
  id: string;
  name: string | null;
  pop: string;
  createdAt: number;
}

export class ObjectDirectory {
  #open: Database.Database | null = null;
  readonly #dir: string | null;
  #tmp: string | null = null;
  #removeTmp: (() => void) | null = null;

  /** Each object's storage quota, bytes (the operator's; default Cloudflare's 10 GB). */
  readonly objectMaxBytes: number;

  /**
   * `dir`: where the databases go (`.outpost/do`); null: the index in memory, objects in a
   * temporary directory (tests). `objectMaxBytes`: each object's storage quota.
   */
  constructor(dir: string | null, options: { objectMaxBytes?: number } = {}) {
    this.#dir = dir;
    this.objectMaxBytes = options.objectMaxBytes ?? DO_LIMITS.MAX_DATABASE_BYTES;
    if (!Number.isSafeInteger(this.objectMaxBytes) || this.objectMaxBytes <= 0)
      throw new RangeError(
        `ObjectDirectory objectMaxBytes must be a positive integer, received ${options.objectMaxBytes}`,
      );
  }

  /** The index, opened on first use: a project without Durable Objects gets no files. */
  get #db(): Database.Database {
    if (this.#open) return this.#open;
    const dir = this.#dir;
    if (dir) mkdirSync(dir, { recursive: true });
    const db = new Database(dir ? join(dir, 'index.sqlite') : ':memory:');
    this.#open = db;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        ns TEXT NOT NULL, id TEXT NOT NULL, name TEXT, pop TEXT NOT NULL, created INTEGER NOT NULL,
        PRIMARY KEY (ns, id)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS alarms (
        ns TEXT NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID;
    `);
    return db;
  }

  /** Where the object lives: where it was first placed, else `pop` from now on. */
  place(namespace: string, id: string, name: string | null, pop: string): PlacedObject {
    const found = this.get(namespace, id);
    if (found) {
      if (name !== null && found.name === null) {
        this.#db.prepare('UPDATE objects SET name = ? WHERE ns = ? AND id = ?').run(name, namespace, id);
        found.name = name;
      }
      return found;
    }
    const createdAt = Date.now();
    this.#db
      .prepare('INSERT INTO objects (ns, id, name, pop, created) VALUES (?, ?, ?, ?, ?)')
      .run(namespace, id, name, pop, createdAt);
    return { namespace, id, name, pop, createdAt };
  }

  get(namespace: string, id: string): PlacedObject | undefined {
    const r = this.#db
      .prepare('SELECT ns, id, name, pop, created FROM objects WHERE ns = ? AND id = ?')
      .get(namespace, id) as
      | { ns: string; id: string; name: string | null; pop: string; created: number }
      | undefined;
    return r && { namespace: r.ns, id: r.id, name: r.name, pop: r.pop, createdAt: r.created };
  }

  list(): PlacedObject[] {
    return (
      this.#db.prepare('SELECT ns, id, name, pop, created FROM objects ORDER BY ns, created').all() as {
        ns: string;
        id: string;
        name: string | null;
        pop: string;
        created: number;
      }[]
    ).map((r) => ({ namespace: r.ns, id: r.id, name: r.name, pop: r.pop, createdAt: r.created }));
  }

  /**
   * The object's own database (made on first use). In memory mode too it is a file, in a
   * temporary directory removed at close: an object's SQL runs in the SQL host process
   * (sql-runner.ts), which opens the same database by its path.
   */
  open(namespace: string, id: string): ObjectStorage {
    return new ObjectStorage(this.file(namespace, id), namespace, this.objectMaxBytes);
  }

  /** The path of the object's database. */
  file(namespace: string, id: string): string {
    return join(this.folder(namespace), `${id}.sqlite`);
  }

  /** The folder of a namespace's databases (made on first write). */
  folder(namespace: string): string {
    const folder = createHash('sha256').update(namespace).digest('hex').slice(0, 16);
    return join(this.#dir ?? this.#scratch(), folder);
  }

  #scratch(): string {
    if (this.#tmp) return this.#tmp;
    const dir = mkdtempSync(join(tmpdir(), 'outpost-do-'));
    this.#tmp = dir;
    const remove = () => rmSync(dir, { recursive: true, force: true });
    this.#removeTmp = () => {
      process.off('exit', remove);
      remove();
    };
    process.on('exit', remove);
    return dir;
  }

  get inMemory(): boolean {
    return this.#dir === null;
  }

  setAlarm(namespace: string, id: string, at: number | null): void {
    if (at === null) this.#db.prepare('DELETE FROM alarms WHERE ns = ? AND id = ?').run(namespace, id);
    else
      this.#db.prepare('INSERT OR REPLACE INTO alarms (ns, id, at) VALUES (?, ?, ?)').run(namespace, id, at);
  }

  alarms(): { namespace: string; id: string; at: number }[] {
    if (!this.#open && this.#dir && !existsSync(join(this.#dir, 'index.sqlite'))) return [];
    return (
      this.#db.prepare('SELECT ns, id, at FROM alarms ORDER BY at').all() as {
        ns: string;
        id: string;
        at: number;
      }[]
    ).map((r) => ({ namespace: r.ns, id: r.id, at: r.at }));
  }

  close(): void {
    if (this.#open?.open) this.#open.close();
    this.#removeTmp?.();
    this.#removeTmp = null;
    this.#tmp = null;
  }
}
