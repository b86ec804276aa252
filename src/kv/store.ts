/**
 * The KV storage interface: where namespaces live, and how a write reaches the PoPs. An
 * implementation answers reads *as a given PoP sees them at a given time*: the embedded store
 * models propagation delay (a write is visible at once where it was made, elsewhere after the
 * delay), the NATS store has the real thing. One conformance suite runs against each.
 */

export interface KvRecord {
  key: string;
  value: Uint8Array;
  /** Metadata as JSON text, or null. */
  metadata: string | null;
  /** Seconds since the epoch, or null. */
  expiration: number | null;
  /** Increases with every write to the store. */
  version: number;
  /** When it was written (ms) and by which PoP. */
  writtenAt: number;
  pop: string;
}

export interface KvWrite {
  /** null deletes the key. */
  value: Uint8Array | null;
  metadata: string | null;
  expiration: number | null;
}

export interface KvListKey {
  name: string;
  expiration?: number;
  metadata?: unknown;
}

export interface KvListResult {
  keys: KvListKey[];
  complete: boolean;
  cursor?: string;
}

/** What one PoP holds of a key (the admin view). */
export interface KvKeyState {
  key: string;
  /** The newest version written anywhere (null: deleted). */
  latest: { version: number; pop: string; writtenAt: number; deleted: boolean };
  /** Per PoP: the version it sees now (null: none yet). */
  seen: Record<string, number | null>;
}

export interface KvStore {
  /** The newest live record of a key that `pop` can see at `now` (ms); null when none. */
  read(ns: string, key: string, pop: string, now: number): Promise<KvRecord | null>;
  /** Write (or delete, with value null) as `pop` at `now`; returns the new version. */
  write(ns: string, key: string, w: KvWrite, pop: string, now: number): Promise<number>;
  /** Keys in UTF-8 byte order, as `pop` sees them at `now`. */
  list(
    ns: string,
    options: { prefix: string; limit: number; cursor: string | null },
    pop: string,
    now: number,
  ): Promise<KvListResult>;
  /** Which version each of `pops` sees for the keys under a prefix (for the admin view). */
  inspect(ns: string, prefix: string, pops: string[], now: number): Promise<KvKeyState[]>;
  close(): Promise<void>;
}

/** A list cursor: the last key returned, encoded. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/** Seconds since the epoch for a ms clock. */
export function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Is a record expired at `now` (ms)? */
export function expired(r: { expiration: number | null }, now: number): boolean {
  return r.expiration !== null && r.expiration <= seconds(now);
}
