import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { D1Databases, splitStatements } from './database.ts';
import { appliedMigrations, applyMigrations, createMigration, pendingMigrations } from './migrations.ts';

const dir = mkdtempSync(join(tmpdir(), 'outpost-d1-test-'));
const db = new D1Databases(dir);
after(() => db.close());

describe('D1 databases', () => {
  it('answer in D1 result shape: rows as objects or arrays, and meta', async () => {
    const [create, insert, select, raw] = await db.query('shape', [
      ['CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, avatar BLOB)', [], 'objects'],
      [
        'INSERT INTO users (name, avatar) VALUES (?, ?), (?, NULL)',
        ['ada', new Uint8Array([1, 2]), 'bob'],
        'objects',
      ],
      ['SELECT * FROM users ORDER BY id', [], 'objects'],
      ['SELECT id, name FROM users ORDER BY id', [], 'raw+columns'],
    ]);
    assert.equal(create.success, true);
    assert.equal(insert.meta.changes, 2);
    assert.equal(insert.meta.last_row_id, 2);
    assert.equal(insert.meta.rows_written, 2);
    assert.equal(insert.meta.changed_db, true);
    assert.deepEqual(select.results, [
      { id: 1, name: 'ada', avatar: [1, 2] },
      { id: 2, name: 'bob', avatar: null },
    ]);
    assert.equal(select.meta.rows_read, 2);
    assert.equal(select.meta.changed_db, false);
    assert.ok(select.meta.size_after > 0);
    assert.deepEqual(raw.results, [
      ['id', 'name'],
      [1, 'ada'],
      [2, 'bob'],
    ]);
  });

  it('run a batch as one transaction: a failing statement undoes the ones before it', async () => {
    await db.query('batch', [['CREATE TABLE t (v INTEGER UNIQUE)', [], 'raw']]);
    await assert.rejects(
      db.query('batch', [
        ['INSERT INTO t VALUES (1)', [], 'raw'],
        ['INSERT INTO t VALUES (1)', [], 'raw'],
      ]),
      /^D1Error: D1_ERROR: UNIQUE constraint failed: t\.v: SQLITE_CONSTRAINT/,
    );
    const [r] = await db.query('batch', [['SELECT count(*) AS n FROM t', [], 'objects']]);
    assert.deepEqual(r.results, [{ n: 0 }]);
  });

  it("report SQLite's errors in D1's words", async () => {
    await assert.rejects(
      db.query('errors', [['SELECT * FROM nope', [], 'raw']]),
      /D1_ERROR: no such table: nope: SQLITE_ERROR/,
    );
    await assert.rejects(db.query('errors', [['   ', [], 'raw']]), /D1_ERROR: No SQL statements detected/);
    await assert.rejects(db.query('errors', [['BEGIN TRANSACTION', [], 'raw']]), /D1_ERROR: .*transaction/i);
    await assert.rejects(
      db.query('errors', [["ATTACH DATABASE '/etc/passwd' AS x", [], 'raw']]),
      /D1_ERROR: not authorized/,
    );
    const many = Array.from({ length: 101 }, () => 1);
    await assert.rejects(
      db.query('errors', [[`SELECT ${many.map(() => '?').join(',')}`, many, 'raw']]),
      /too many SQL variables \(limit 100\)/,
    );
  });

  it('bound what one call may answer in all, and exec() text, refusing past the bounds', async () => {
    const big = (i: number) =>
      [`SELECT printf('%.*c', 1000000, 'x') AS s FROM (SELECT 1 UNION ALL SELECT 2) -- ${i}`, [], 'raw'] as [
        string,
        unknown[],
        'raw',
      ];
    await assert.rejects(
      db.query(
        'bounds',
        Array.from({ length: 10 }, (_, i) => big(i)),
      ),
      /SQL result too large \(more than 16777216 bytes\)/,
    );
    await assert.rejects(
      db.query('bounds', [['SELECT zeroblob(2000000) AS b', [], 'raw']]),
      /SQL result too large/,
      'BLOBs count as the arrays of numbers the worker gets',
    );
    await assert.rejects(db.exec('bounds', 'SELECT 1;'.repeat(200_000)), /SQL too long for exec\(\)/);
    await assert.rejects(
      db.query('bounds', [['BEGIN TRANSACTION', [], 'raw']]),
      /transactions are not supported in SQL: run statements in one transaction with batch\(\)/,
    );
  });

  it('split exec() text in time linear in its length', () => {
    const t = performance.now();
    assert.equal(splitStatements('BEGIN '.repeat(100_000)).length, 1);
    assert.ok(performance.now() - t < 2000, `took ${performance.now() - t} ms`);
  });

  it('keep data across restarts (one file per database under the folder)', async () => {
    await db.query('persist', [
      ['CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)', [], 'raw'],
      ["INSERT INTO kv VALUES ('a', 'b')", [], 'raw'],
    ]);
    const again = new D1Databases(dir);
    const [r] = await again.query('persist', [['SELECT v FROM kv', [], 'objects']]);
    again.close();
    assert.deepEqual(r.results, [{ v: 'b' }]);
  });

  it('exec runs many statements and counts them; dump returns the database file', async () => {
    const r = await db.exec(
      'exec',
      'CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);',
    );
    assert.equal(r.count, 3);
    const bytes = await db.dump('exec');
    await assert.rejects(
      db.dump('exec', 100),
      /D1_DUMP_ERROR: the database is \d+ bytes, more than dump\(\) returns \(100\)/,
    );
    assert.equal(new TextDecoder().decode(bytes.slice(0, 15)), 'SQLite format 3');
    await assert.rejects(
      db.exec('exec', 'INSERT INTO missing VALUES (1)'),
      /D1_EXEC_ERROR: .*no such table: missing/,
    );
  });

  it('refuse ids that could name a path', () => {
    assert.throws(() => db.file('../escape'), /invalid database id/);
  });
});

describe('splitStatements', () => {
  it('splits at ";" outside strings, comments and trigger bodies', () => {
    assert.deepEqual(
      splitStatements(
        "CREATE TABLE a (x); -- one; two\nINSERT INTO a VALUES ('a;b');\nCREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; UPDATE a SET x = 1; END;",
      ),
      [
        'CREATE TABLE a (x)',
        "INSERT INTO a VALUES ('a;b')",
        'CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; UPDATE a SET x = 1; END',
      ],
    );
  });
});

describe('D1 migrations', () => {
  it("apply a folder of NNNN_name.sql files in order, once, recorded in wrangler's table", async () => {
    const folder = mkdtempSync(join(tmpdir(), 'outpost-d1-migrations-'));
    const first = createMigration(folder, 'Create users');
    assert.match(first, /0001_create_users\.sql$/);
    writeFileSync(first, 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);');
    writeFileSync(join(folder, '0002_add_name.sql'), 'ALTER TABLE users ADD COLUMN name TEXT;');
    const t = { id: 'migrated', dir: folder, table: 'd1_migrations' };
    assert.deepEqual(await pendingMigrations(db, t), ['0001_create_users.sql', '0002_add_name.sql']);
    assert.deepEqual(await applyMigrations(db, t), ['0001_create_users.sql', '0002_add_name.sql']);
    assert.deepEqual(await applyMigrations(db, t), []);
    assert.deepEqual(await appliedMigrations(db, t), ['0001_create_users.sql', '0002_add_name.sql']);
    writeFileSync(join(folder, '0003_bad.sql'), 'CREATE TABLE ok (x);\nCREATE TABLE users (x);');
    await assert.rejects(applyMigrations(db, t), /migration 0003_bad\.sql failed and was rolled back/);
    const [r] = await db.query('migrated', [["SELECT name FROM sqlite_schema WHERE name = 'ok'", [], 'raw']]);
    assert.deepEqual(r.results, []);
  });
});
