// Attacks through a Durable Object's own SQL (ctx.storage.sql.exec): reaching other files
// (ATTACH, VACUUM INTO, PRAGMAs), the internal __cf_ tables in every spelling, triggers and
// views that would do it later, and statements that run or allocate without end. Each is
// refused or bounded with a clear error; only that call fails; another namespace's object
// keeps answering meanwhile; no file appears on the host.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startFixture, type TestDev } from '../helpers.ts';

let dev: TestDev;
let project: ReturnType<typeof copyFixture>;
let victimFiles: string[] = [];
let kvFile = '';
const tag = `outpost-attack-${process.pid}`;

type Outcome = {
  result?: { rows: Record<string, unknown>[]; columns: string[]; written: number };
  error?: string;
  ms: number;
};

async function exec(query: string, bindings: unknown[] = [], name = 'attacker'): Promise<Outcome> {
  const r = await fetch(`${dev.url}/exec?name=${name}`, {
    method: 'POST',
    body: JSON.stringify({ query, bindings }),
  });
  return (await r.json()) as Outcome;
}

async function refused(query: string, pattern: RegExp = /not authorized: SQLITE_AUTH/): Promise<void> {
  const o = await exec(query);
  assert.ok(o.error, `expected a refusal of ${JSON.stringify(query)}, got ${JSON.stringify(o.result)}`);
  assert.match(o.error, pattern, `for ${JSON.stringify(query)}`);
}

function filesUnder(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) filesUnder(p, out);
    else out.push(p);
  }
  return out;
}

const ENDLESS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c';
const stray = () => readdirSync(tmpdir()).filter((n) => n.startsWith(tag));

before(async () => {
  project = copyFixture('do-sql');
  dev = await startFixture(project.dir);
  assert.equal(await (await fetch(`${dev.url}/kv-put`)).json(), 'ok');
  assert.equal(await (await fetch(`${dev.url}/victim/setup?name=v`)).json(), 'ok');
  assert.ok((await exec('CREATE TABLE IF NOT EXISTS mine (x)')).result);
  kvFile = join(project.dir, '.outpost', 'kv', 'kv.sqlite');
  assert.ok(existsSync(kvFile), 'the worker KV file exists');
  const all = filesUnder(join(project.dir, '.outpost', 'do')).filter((f) => f.endsWith('.sqlite'));
  victimFiles = all.filter((f) => !f.endsWith('index.sqlite'));
  assert.ok(victimFiles.length >= 2, 'the attacker and the victim have database files');
});
after(async () => {
  await dev.close();
  project.cleanup();
});

describe('Durable Object SQL: other files', () => {
  it('ATTACH of the KV file, another object, a new file: refused in every spelling', async () => {
    const before = filesUnder(project.dir).sort();
    const newFile = join(tmpdir(), `${tag}-attach.sqlite`);
    const targets = [kvFile, ...victimFiles, newFile, join(project.dir, 'new.sqlite'), ':memory:', ''];
    for (const t of targets) {
      const p = t.replaceAll("'", "''");
      for (const q of [
        `ATTACH DATABASE '${p}' AS x`,
        `attach '${p}' as x`,
        `/* hidden */ AtTaCh /* x */ DaTaBaSe '${p}' AS "x"`,
        `-- a comment\n  ATTACH '${p}' AS x`,
        `SELECT 1; ATTACH '${p}' AS x; SELECT 2`,
        `SELECT ';'; ATTACH '${p}' AS x`,
        `EXPLAIN ATTACH '${p}' AS x`,
        `ATTACH ('${p}') AS x`,
        `ATTACH '${p}' || '' AS x`,
      ])
        await refused(q);
      // Not statements SQLite accepts at all: still an error, never an attached database.
      for (const q of [
        `WITH c AS (SELECT 1) ATTACH '${p}' AS x`,
        `CREATE TRIGGER ta AFTER INSERT ON mine BEGIN ATTACH '${p}' AS x; END`,
        `SELECT sqlite_attach('${p}', 'x', NULL)`,
      ])
        assert.ok((await exec(q)).error, q);
    }
    await refused('DETACH DATABASE main');
    // Nothing was attached: the schema x does not exist.
    assert.match((await exec('SELECT * FROM x.sqlite_schema')).error ?? '', /no such table/);
    assert.deepEqual(filesUnder(project.dir).sort(), before);
    assert.deepEqual(stray(), []);
  });

  it('VACUUM INTO a host path: refused; a plain VACUUM of its own database works', async () => {
    const target = join(tmpdir(), `${tag}-vacuum.sqlite`);
    for (const q of [
      `VACUUM INTO '${target}'`,
      `vacuum main into '${target}'`,
      `/**/VACUUM/**/INTO/**/'${target}'`,
      `SELECT 1; VACUUM INTO '${target}'`,
      `VACUUM INTO '${join(project.dir, 'copy.sqlite')}'`,
      `VACUUM INTO '${kvFile}'`,
    ])
      await refused(q);
    const o = await exec('VACUUM INTO ?', [target]);
    assert.match(o.error ?? '', /not authorized/);
    assert.ok((await exec('VACUUM')).result, 'a plain VACUUM');
    assert.equal(existsSync(target), false);
    assert.equal(existsSync(join(project.dir, 'copy.sqlite')), false);
    assert.deepEqual(stray(), []);
  });

  it("PRAGMAs outside Cloudflare's list are refused before they are compiled; listed ones work", async () => {
    for (const q of [
      'PRAGMA database_list',
      'pragma DATABASE_LIST',
      'PRAGMA "database_list"',
      'PRAGMA main.database_list',
      'EXPLAIN PRAGMA writable_schema = 1',
      'PRAGMA writable_schema = 1',
      'PRAGMA trusted_schema = 1',
      'PRAGMA journal_mode = DELETE',
      'PRAGMA main.journal_mode = OFF',
      'PRAGMA synchronous = OFF',
      'PRAGMA mmap_size = 1000000000',
      'PRAGMA hard_heap_limit = 1',
      'PRAGMA soft_heap_limit = 1',
      'PRAGMA cache_size = -2000000',
      'PRAGMA max_page_count = 2147483647',
      'PRAGMA compile_options',
      'PRAGMA function_list',
      'PRAGMA temp.table_info(mine)',
      'SELECT * FROM pragma_database_list',
      'SELECT file FROM "pragma_database_list"',
      'SELECT * FROM pragma_compile_options()',
      'SELECT * FROM dbstat',
      'CREATE VIEW leak AS SELECT file FROM pragma_database_list',
      'SELECT 1; PRAGMA database_list',
    ])
      await refused(q);
    assert.equal((await exec('PRAGMA table_info(mine)')).result?.rows[0]?.name, 'x');
    assert.ok((await exec('PRAGMA foreign_keys')).result);
    assert.ok((await exec('PRAGMA table_list')).result);
    assert.equal((await exec("SELECT name FROM pragma_table_info('mine')")).result?.rows[0]?.name, 'x');
  });

  it('__cf_ tables: refused in every spelling, directly, by DDL, triggers and views', async () => {
    await fetch(`${dev.url}/kv?name=attacker&key=k`, { method: 'PUT', body: 'kv-value' });
    for (const q of [
      'SELECT * FROM __cf_kv',
      'SELECT * FROM "__cf_kv"',
      'SELECT * FROM [__CF_KV]',
      'SELECT * FROM `__Cf_Kv`',
      'SELECT * FROM main."__cf_meta"',
      "SELECT * FROM '__cf_kv'",
      'SELECT * FROM "__cf_""kv"',
      'DELETE FROM __cf_kv',
      "INSERT INTO __cf_meta VALUES ('alarm', 1)",
      'DROP TABLE __cf_kv',
      'ALTER TABLE __cf_kv RENAME TO stolen',
      'CREATE INDEX i ON __cf_kv(value)',
      'CREATE TRIGGER t1 AFTER INSERT ON "__cf_kv" BEGIN SELECT 1; END',
      'CREATE TRIGGER t2 AFTER INSERT ON mine BEGIN DELETE FROM [__cf_kv]; END',
      'CREATE VIEW v1 AS SELECT * FROM `__cf_kv`',
      'CREATE TABLE __cf_mine (x)',
    ])
      await refused(q);
    // The object's key-value data is where it was.
    assert.equal(await (await fetch(`${dev.url}/kv?name=attacker&key=k`)).json(), 'kv-value');
  });

  it('several statements: a trigger body with ";" runs whole; bindings, rows are the last one\'s', async () => {
    const o = await exec(
      `CREATE TABLE a (x); CREATE TABLE log (x);
       CREATE TRIGGER tr AFTER INSERT ON a BEGIN
         INSERT INTO log VALUES (new.x);
         UPDATE log SET x = CASE WHEN x > 0 THEN x ELSE 0 END;
       END;
       INSERT INTO a VALUES (5); -- a comment; with a semicolon
       SELECT x FROM log WHERE x = ?`,
      [5],
    );
    assert.deepEqual(o.result?.rows, [{ x: 5 }], JSON.stringify(o));
    await refused('BEGIN TRANSACTION', /transactionSync/);
    await refused('SAVEPOINT s', /transactionSync/);
  });
});

describe('Durable Object SQL: time and memory', () => {
  it('randomblob/zeroblob of huge sizes: SQLITE_TOOBIG; the host does not grow', async () => {
    const rss = process.memoryUsage().rss;
    for (const q of [
      'SELECT randomblob(1000000000)',
      'SELECT length(zeroblob(2000000000))',
      'SELECT length(randomblob(3000000))',
      'INSERT INTO mine VALUES (zeroblob(1e9))',
    ])
      await refused(q, /too big: SQLITE_TOOBIG/);
    assert.equal((await exec('SELECT length(randomblob(1000)) AS n')).result?.rows[0]?.n, 1000);
    // Growth no function override catches: doubling a string, printf widths.
    for (const q of [
      "WITH RECURSIVE r(s) AS (SELECT 'xx' UNION ALL SELECT s || s FROM r WHERE length(s) < 1e9) " +
        'SELECT max(length(s)) FROM r',
      "SELECT length(printf('%.*c', 600000000, 'x'))",
      "SELECT length(replace(printf('%.*c', 100000000, 'x'), 'x', 'yyyyyyyy'))",
    ]) {
      const o = await exec(q);
      assert.ok(o.error || o.result, q);
    }
    const grown = (process.memoryUsage().rss - rss) / 1e6;
    assert.ok(grown < 200, `host RSS grew ${grown.toFixed(0)} MB`);
    // Interrupted statements spent the namespace's SQL budget; once it refills, the object answers.
    await new Promise((r) => setTimeout(r, 4000));
    assert.deepEqual((await exec('SELECT 1 AS one')).result?.rows, [{ one: 1 }], 'the object still answers');
  });

  it('a recursive CTE with a huge bound is interrupted; another namespace answers meanwhile', async () => {
    await new Promise((r) => setTimeout(r, 5000)); // a full SQL budget again
    const latencies: number[] = [];
    /** When each ping was answered. */
    const answered: number[] = [];
    let attacking = true;
    const pinger = (async () => {
      while (attacking) {
        const t = performance.now();
        assert.equal(await (await fetch(`${dev.url}/victim/ping?name=v`)).json(), 1);
        answered.push(performance.now());
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const started = performance.now();
    const o = await exec(
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) ' +
        'SELECT count(*) FROM c',
    );
    const ms = performance.now() - started;
    const endless = await exec(ENDLESS);
    const attackEnded = performance.now();
    await new Promise((r) => setTimeout(r, 200));
    attacking = false;
    await pinger;
    assert.match(o.error ?? '', /time limit of \d+ ms and was interrupted: SQLITE_INTERRUPT/);
    assert.ok(ms < 3000, `the attack's call took ${ms.toFixed(0)} ms`);
    assert.match(endless.error ?? '', /SQLITE_INTERRUPT|budget exhausted/);
    latencies.sort((a, b) => a - b);
    const worst = latencies[latencies.length - 1];
    console.log(
      `victim pings during the attack: ${latencies.length}, ` +
        `p50 ${latencies[latencies.length >> 1].toFixed(0)} ms, max ${worst.toFixed(0)} ms`,
    );
    // On a loaded host (other test files beside this one) a ping can take ~300 ms: the victim
    // must answer while the attack runs, and never wait long, however many pings that makes.
    const during = answered.filter((t) => t < attackEnded).length;
    assert.ok(during >= 1, `the victim answered during the attack (${during} of ${answered.length} pings)`);
    assert.ok(worst < 1500, `victim's worst latency ${worst.toFixed(0)} ms`);
  });

  it("repeated long statements spend the namespace's SQL budget, not the host's; it recovers", async () => {
    const errors: string[] = [];
    for (let i = 0; i < 8; i++) {
      const o = await exec(ENDLESS);
      errors.push(o.error ?? 'no error');
    }
    assert.ok(
      errors.every((e) => /SQLITE_INTERRUPT|budget exhausted/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => /budget exhausted/.test(e)),
      errors.join('\n'),
    );
    // Another namespace's budget is its own.
    assert.equal(await (await fetch(`${dev.url}/victim/ping?name=v`)).json(), 1);
    await new Promise((r) => setTimeout(r, 4000)); // the bucket refills
    assert.deepEqual((await exec('SELECT count(*) AS n FROM mine')).result?.rows, [{ n: 0 }]);
    assert.deepEqual(stray(), []);
  });
});
