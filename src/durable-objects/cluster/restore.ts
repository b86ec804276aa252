/**
 * Rebuild an object's database from its snapshot and journal (cluster.ts calls this when a node
 * takes an object): the snapshot image first, then every journal record after it, in order.
 * SQL is replayed through the SQL host, as the object ran it; an image replaces the database.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { DO_LIMITS } from '../limits.ts';
import { sqlRunner } from '../sql-runner.ts';
import { ObjectStorage } from '../storage.ts';
import type { JournalRecord } from './records.ts';

export function removeDatabase(file: string): void {
  sqlRunner.close(file);
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(f, { force: true });
}

export function restoreDatabase(
  file: string,
  namespace: string,
  maxBytes: number,
  image: Uint8Array | null,
  records: JournalRecord[],
): void {
  removeDatabase(file);
  if (image) writeFileSync(file, image);
  let db = new ObjectStorage(file, namespace, maxBytes);
  try {
    for (const r of records)
      for (const op of r.ops) {
        switch (op.t) {
          case 'kv':
            db.write(op.puts, op.dels);
            break;
          case 'sql':
            sqlRunner.run(file, op.q, op.b, DO_LIMITS.MAX_SQL_MS * 4, maxBytes);
            break;
          case 'image':
            db.close();
            removeDatabase(file);
            writeFileSync(file, op.db);
            db = new ObjectStorage(file, namespace, maxBytes);
            break;
          case 'alarm':
            db.setAlarm(op.at);
            break;
          case 'deleteAll':
            db.deleteAll();
            break;
        }
      }
  } finally {
    db.close();
  }
}
