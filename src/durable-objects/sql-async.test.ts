import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AsyncSqlHost } from './sql-async.ts';

const host = new AsyncSqlHost();
after(() => host.close());
const file = join(mkdtempSync(join(tmpdir(), 'outpost-sql-async-')), 'db.sqlite');
writeFileSync(file, '');
const MB = 1024 * 1024;

describe('AsyncSqlHost', () => {
  it('answers pipelined requests in order', async () => {
    await host.batch(file, [['CREATE TABLE t (x)', []]], 1000, 10 * MB);
    const all = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        host.batch(file, [[`INSERT INTO t VALUES (${i}) RETURNING x`, []]], 1000, 10 * MB),
      ),
    );
    assert.deepEqual(
      all.map((r) => r.results[0].rows[0][0]),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('kills a statement past its time; the requests behind it run on a new process', async () => {
    const slow = host.batch(
      file,
      [
        [
          'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c',
          [],
        ],
      ],
      150,
      10 * MB,
    );
    const behind = host.batch(file, [['SELECT count(*) FROM t', []]], 1000, 10 * MB);
    await assert.rejects(slow, /exceeded its time limit of 150 ms and was interrupted: SQLITE_INTERRUPT/);
    assert.deepEqual((await behind).results[0].rows, [[50]]);
  });

  it('reports SQLite and gate errors as they are', async () => {
    await assert.rejects(
      host.batch(file, [['SELECT * FROM missing', []]], 1000, 10 * MB),
      /no such table: missing/,
    );
    await assert.rejects(host.batch(file, [["ATTACH 'x' AS y", []]], 1000, 10 * MB), /not authorized/);
  });
});
