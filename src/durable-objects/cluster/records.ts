/**
 * What a Durable Object's replicated journal holds (journal.ts): one record per group of commits,
 * each a list of storage operations in the order the object made them. A new owner rebuilds the
 * object's database by applying them in order after its snapshot (restore.ts).
 *
 * - `kv`: a committed batch of the key-value API (values already V8-serialized by StagedStorage).
 * - `sql`: a statement of `ctx.storage.sql.exec` that changed the database (DDL included), with
 *   its bindings; replayed through the same SQL host, so it means the same thing again.
 * - `image`: the whole database after a statement whose result depends on when or where it ran
 *   (random(), datetime('now') …): replaying its text would not give the same rows.
 * - `alarm`, `deleteAll`: as the storage API names them.
 * A `fence` record opens an owner's epoch: written by a new owner before it serves, it makes
 * every later append of an older owner fail (journal.ts).
 *
 * Records are V8-serialized (the nodes of one network run one Node version). A record larger than
 * what NATS takes in one message is published as parts (`Outpost-Part: i/n`), applied only when
 * its last part is there: an owner that died between parts never acknowledged that commit.
 */
import { deserialize, serialize } from 'node:v8';
import { tokenize } from '../sql-gate.ts';

export type JournalOp =
  | { t: 'kv'; puts: [string, Uint8Array][]; dels: string[] }
  | { t: 'sql'; q: string; b: unknown[] }
  | { t: 'image'; db: Uint8Array }
  | { t: 'alarm'; at: number | null }
  | { t: 'deleteAll' };

export interface JournalRecord {
  /** The owner's epoch (its lease's fencing number, owners.ts). */
  e: number;
  /** The node that wrote it. */
  n: string;
  ops: JournalOp[];
  fence?: true;
}

export const PART_HEADER = 'Outpost-Part';

export function encodeRecord(r: JournalRecord): Uint8Array {
  return serialize(r);
}

export function decodeRecord(bytes: Uint8Array): JournalRecord {
  const r = deserialize(bytes) as JournalRecord;
  if (!r || typeof r !== 'object' || typeof r.e !== 'number' || !Array.isArray(r.ops))
    throw new Error('not a Durable Object journal record');
  return r;
}

/** `bytes` cut into pieces of at most `max` bytes (one piece when it fits). */
export function parts(bytes: Uint8Array, max: number): Uint8Array[] {
  if (bytes.byteLength <= max) return [bytes];
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i += max) out.push(bytes.subarray(i, i + max));
  return out;
}

/** Joins parts back into records in journal order; a record cut short is dropped. */
export class PartJoiner {
  #pending: Uint8Array[] = [];
  #of = 0;

  /** The record this message completes, if any. `part` is the header value (`i/n`) or null. */
  add(data: Uint8Array, part: string | null): JournalRecord | null {
    if (!part) {
      this.#pending = [];
      return decodeRecord(data);
    }
    const m = /^(\d+)\/(\d+)$/.exec(part);
    if (!m) throw new Error(`journal: bad ${PART_HEADER} header "${part}"`);
    const i = Number(m[1]);
    const n = Number(m[2]);
    // A first part starts over: what came before it was a record its writer never finished.
    if (i === 1) {
      this.#pending = [];
      this.#of = n;
    } else if (i !== this.#pending.length + 1 || n !== this.#of) {
      this.#pending = [];
      return null;
    }
    this.#pending.push(data);
    if (i < n) return null;
    const all = Buffer.concat(this.#pending);
    this.#pending = [];
    return decodeRecord(all);
  }
}

/**
 * SQL functions whose result depends on the moment, on chance or on the connection: a statement
 * calling one is journalled as the database image it produced, not as text. `changes()`,
 * `total_changes()` and `last_insert_rowid()` belong here: the owner's statements run on an SQL
 * host connection that can be closed between two of them (the host keeps a bounded number open,
 * sql-host.ts, and a host killed for time starts afresh), while a restore replays the whole
 * journal on one connection — so the same text can read different counters.
 */
const UNREPEATABLE = new Set([
  'changes',
  'total_changes',
  'last_insert_rowid',
  'random',
  'randomblob',
  'date',
  'time',
  'datetime',
  'julianday',
  'strftime',
  'unixepoch',
  'timediff',
  'current_date',
  'current_time',
  'current_timestamp',
]);

export function repeatable(query: string): boolean {
  for (const tok of tokenize(query))
    if ((tok.kind === 'word' || tok.kind === 'id') && UNREPEATABLE.has(tok.value.toLowerCase())) return false;
  return true;
}

/**
 * Words of statements that may change what later statements see without changing the database
 * file (so SQLite's data_version does not move): a TEMP table and what is written to it, a
 * PRAGMA such as foreign_keys. A query with one is journalled even when the file did not change.
 */
const STATEFUL = new Set([
  'insert',
  'update',
  'delete',
  'replace',
  'create',
  'drop',
  'alter',
  'pragma',
  'temp',
  'temporary',
  'reindex',
  'analyze',
  'vacuum',
]);

export function stateful(query: string): boolean {
  for (const tok of tokenize(query))
    if (tok.kind === 'word' && STATEFUL.has(tok.value.toLowerCase())) return true;
  return false;
}

/** Whether a schema (its CREATE statements) calls anything unrepeatable: defaults, triggers, views. */
export function schemaRepeatable(schemaSql: string[]): boolean {
  return schemaSql.every((q) => repeatable(q));
}
