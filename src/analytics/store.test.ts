// The Analytics Engine store: buffered writes, retention, accounts kept apart, and the SQL API
// over it (grouping, filters, time ranges, formats, Cloudflare's documented example queries).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AnalyticsSqlError } from './limits.ts';
import { checkPoint } from './point.ts';
import { AnalyticsEngine } from './store.ts';

const HOUR = 3600_000;
/** A whole hour an hour ago, so buckets of 5 minutes and hours are predictable. */
const NOW = Math.floor(Date.now() / HOUR) * HOUR;

function point(city: string, temp: number, humidity: number, sensor = 's1') {
  return checkPoint({ blobs: [city, sensor], doubles: [temp, humidity], indexes: [sensor] });
}

/** Readings: Paris and Oslo every 10 minutes for the last two hours, and one 3 days old. */
function seed(ae: AnalyticsEngine, account = 'local'): void {
  for (let i = 0; i < 12; i++) {
    const t = NOW - i * 10 * 60_000;
    ae.write(account, 'weather', [point('Paris', 20 + i, 50)], t);
    ae.write(account, 'weather', [point('Oslo', i, 80, 's2')], t);
  }
  ae.write(account, 'weather', [point('Paris', 99, 10)], NOW - 3 * 24 * HOUR);
}

function q(ae: AnalyticsEngine, sql: string, account = 'local') {
  return ae.query(account, sql, NOW).answer;
}

describe('AnalyticsEngine storage', () => {
  it('buffers writes and writes them within flushMs, or when a query comes', async () => {
    const ae = new AnalyticsEngine({ file: null, flushMs: 20 });
    ae.write('local', 'd', [checkPoint({ doubles: [1] })]);
    assert.equal(ae.buffered, 1);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(ae.buffered, 0);
    ae.write('local', 'd', [checkPoint({ doubles: [2] })]);
    assert.equal(q(ae, 'SELECT sum(double1) AS s FROM d').data[0].s, 3);
    ae.close();
  });

  it('writes at once when flushRows points gather', () => {
    const ae = new AnalyticsEngine({ file: null, flushRows: 3, flushMs: 60_000 });
    ae.write('local', 'd', [checkPoint({}), checkPoint({})]);
    assert.equal(ae.buffered, 2);
    ae.write('local', 'd', [checkPoint({})]);
    assert.equal(ae.buffered, 0);
    ae.close();
  });

  it('keeps the newest maxRowsPerDataset points of a dataset, and drops points past retention', () => {
    const ae = new AnalyticsEngine({ file: null, maxRowsPerDataset: 5, retentionDays: 2 });
    for (let i = 0; i < 8; i++) ae.write('local', 'd', [checkPoint({ doubles: [i] })], NOW + i * 1000);
    ae.write('local', 'other', [checkPoint({ doubles: [1] })], NOW);
    assert.deepEqual(
      q(ae, 'SELECT double1 FROM d ORDER BY double1').data.map((r) => r.double1),
      [3, 4, 5, 6, 7],
    );
    assert.equal(q(ae, 'SELECT count() AS n FROM other').data[0].n, '1');
    // Points three days old are gone at the next hourly check.
    ae.write('local', 'old', [checkPoint({})], Date.now() - 3 * 24 * HOUR);
    ae.flush(Date.now() + 2 * HOUR);
    assert.equal(q(ae, 'SELECT count() AS n FROM old').data[0].n, '0');
    ae.close();
  });

  it('keeps accounts apart: a dataset of another account is not there', () => {
    const ae = new AnalyticsEngine({ file: null });
    ae.write('acct-a', 'events', [checkPoint({ blobs: ['a'] })]);
    ae.write('acct-b', 'events', [checkPoint({ blobs: ['b'] }), checkPoint({ blobs: ['b'] })]);
    ae.write('acct-b', 'private', [checkPoint({})]);
    assert.deepEqual(q(ae, 'SELECT blob1, count() AS n FROM events GROUP BY blob1', 'acct-a').data, [
      { blob1: 'a', n: '1' },
    ]);
    assert.deepEqual(q(ae, 'SHOW TABLES', 'acct-a').data, [{ dataset: 'events' }]);
    assert.throws(() => q(ae, 'SELECT * FROM private', 'acct-a'), /unknown dataset "private"/);
    ae.close();
  });

  it('a read-only engine on the file sees what a writer flushed (the CLI beside outpost dev)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'outpost-ae-')), 'analytics.sqlite');
    const missing = new AnalyticsEngine({ file, readonly: true });
    assert.deepEqual(q(missing, 'SHOW TABLES').data, []);
    missing.close();
    const writer = new AnalyticsEngine({ file });
    writer.write('local', 'd', [checkPoint({ blobs: ['x'] })]);
    writer.flush();
    const reader = new AnalyticsEngine({ file, readonly: true });
    assert.deepEqual(q(reader, 'SELECT blob1 FROM d').data, [{ blob1: 'x' }]);
    reader.close();
    writer.close();
  });
});

describe('the SQL API', () => {
  let ae: AnalyticsEngine;
  before(() => {
    ae = new AnalyticsEngine({ file: null });
    seed(ae);
  });
  after(() => ae.close());

  it("answers Cloudflare's JSON shape with ClickHouse types", () => {
    const a = q(ae, "SELECT count() AS n, sum(double1) AS s, 'x' AS c, 1 AS one FROM weather");
    assert.deepEqual(a, {
      meta: [
        { name: 'n', type: 'UInt64' },
        { name: 's', type: 'Float64' },
        { name: 'c', type: 'String' },
        { name: 'one', type: 'UInt8' },
      ],
      data: [{ n: '25', s: 20 * 12 + 66 + 66 + 99, c: 'x', one: 1 }],
      rows: 1,
      rows_before_limit_at_least: 1,
    });
    assert.deepEqual(q(ae, "SELECT 'Hello Workers Analytics Engine' AS message").data, [
      { message: 'Hello Workers Analytics Engine' },
    ]);
    assert.deepEqual(q(ae, 'SHOW TABLES').data, [{ dataset: 'weather' }]);
  });

  it('groups, filters and orders (the get-started query)', () => {
    const a = q(
      ae,
      `SELECT blob1 AS city, max(double1) AS max_temp, min(double1) AS min_temp
       FROM weather WHERE timestamp > NOW() - INTERVAL '1' DAY GROUP BY city ORDER BY city`,
    );
    assert.deepEqual(a.data, [
      { city: 'Oslo', max_temp: 11, min_temp: 0 },
      { city: 'Paris', max_temp: 31, min_temp: 20 },
    ]);
    // The point from three days ago counts without the time filter.
    assert.equal(q(ae, "SELECT max(double1) AS m FROM weather WHERE blob1 = 'Paris'").data[0].m, 99);
  });

  it('weights by _sample_interval (the SQL API docs examples)', () => {
    const n = q(
      ae,
      `SELECT index1 AS location_id, SUM(_sample_interval) AS n_readings FROM weather
       WHERE timestamp > NOW() - INTERVAL '7' DAY GROUP BY index1 ORDER BY index1`,
    );
    assert.deepEqual(n.data, [
      { location_id: 's1', n_readings: '13' },
      { location_id: 's2', n_readings: '12' },
    ]);
    const avg = q(
      ae,
      `SELECT index1 AS location_id, SUM(_sample_interval * double1) / SUM(_sample_interval) AS average_temp
       FROM weather WHERE timestamp > NOW() - INTERVAL '7' DAY GROUP BY index1 ORDER BY index1`,
    );
    assert.deepEqual(avg.data[1], { location_id: 's2', average_temp: 5.5 });
    const p = q(
      ae,
      `SELECT quantileExactWeighted(0.5)(double1, _sample_interval) AS p50,
              quantileWeighted(0.95, double1, _sample_interval) AS p95,
              median(double1) AS med
       FROM weather WHERE blob1 = 'Oslo'`,
    );
    assert.deepEqual(p.data, [{ p50: 5, p95: 11, med: 5.5 }]);
  });

  it('buckets time with toStartOfInterval and formats DateTime', () => {
    const a = q(
      ae,
      `SELECT toStartOfInterval(timestamp, INTERVAL '30' MINUTE) AS t, count() AS n FROM weather
       WHERE timestamp >= NOW() - INTERVAL '1' HOUR AND blob1 = 'Paris' GROUP BY t ORDER BY t DESC`,
    );
    const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
    assert.deepEqual(a.meta, [
      { name: 't', type: 'DateTime' },
      { name: 'n', type: 'UInt64' },
    ]);
    assert.deepEqual(a.data, [
      { t: iso(NOW), n: '1' },
      { t: iso(NOW - 30 * 60_000), n: '3' },
      { t: iso(NOW - 60 * 60_000), n: '3' },
    ]);
    const range = q(
      ae,
      `SELECT count() AS n FROM weather WHERE timestamp BETWEEN '${iso(NOW - 30 * 60_000)}' AND toDateTime('${iso(NOW)}')`,
    );
    assert.equal(range.data[0].n, '8');
  });

  it('IN, NOT, OR, LIKE, HAVING, aliases anywhere, subqueries', () => {
    const n = (sql: string) => q(ae, sql).data[0]?.n;
    assert.equal(n("SELECT count() AS n FROM weather WHERE blob1 IN ('Paris', 'Rome')"), '13');
    assert.equal(n("SELECT count() AS n FROM weather WHERE blob1 NOT IN ('Paris')"), '12');
    assert.equal(n('SELECT count() AS n FROM weather WHERE NOT double1 < 30 OR double1 = 0'), '4');
    assert.equal(
      n("SELECT count() AS n FROM weather WHERE blob1 LIKE 'P%' AND blob1 NOT ILIKE 'oslo'"),
      '13',
    );
    assert.equal(n("SELECT count() AS n FROM weather WHERE blob1 LIKE 'p%'"), '0');
    assert.equal(q(ae, 'SELECT double1 * 2 AS dbl FROM weather WHERE dbl > 60').rows, 2);
    assert.deepEqual(
      q(ae, 'SELECT blob1 AS city, count() AS readings FROM weather GROUP BY city HAVING readings > 12').data,
      [{ city: 'Paris', readings: '13' }],
    );
    assert.deepEqual(
      q(
        ae,
        'SELECT city, n FROM (SELECT blob1 AS city, count() AS n FROM weather GROUP BY city) WHERE n < 13 ORDER BY city',
      ).data,
      [{ city: 'Oslo', n: '12' }],
    );
  });

  it('LIMIT, OFFSET and rows_before_limit_at_least', () => {
    const a = q(ae, "SELECT double1 FROM weather WHERE blob1 = 'Oslo' ORDER BY double1 LIMIT 3 OFFSET 2");
    assert.deepEqual(
      a.data.map((r) => r.double1),
      [2, 3, 4],
    );
    assert.equal(a.rows, 3);
    assert.equal(a.rows_before_limit_at_least, 12);
    assert.deepEqual(
      q(ae, "SELECT double1 FROM weather WHERE blob1 = 'Oslo' ORDER BY double1 DESC LIMIT 1, 2").data,
      [{ double1: 10 }, { double1: 9 }],
    );
  });

  it('FORMAT JSONEachRow and TabSeparated', () => {
    const each = ae.query(
      'local',
      'SELECT blob1, count() AS n FROM weather GROUP BY blob1 ORDER BY blob1 FORMAT JSONEachRow',
      NOW,
    );
    assert.equal(each.body, '{"blob1":"Oslo","n":"12"}\n{"blob1":"Paris","n":"13"}\n');
    const tsv = ae.query('local', "SELECT blob1, 'a\tb' AS t FROM weather LIMIT 1 FORMAT TabSeparated", NOW);
    assert.match(tsv.body, /^(Paris|Oslo)\ta\\tb\n$/);
    assert.equal(tsv.contentType, 'text/tab-separated-values; charset=utf-8');
  });

  it('refuses what a query may not do, naming it', () => {
    const fails = (sql: string, re: RegExp) =>
      assert.throws(
        () => q(ae, sql),
        (e: Error) => e instanceof AnalyticsSqlError && re.test(e.message),
      );
    fails(
      'SELECT blob1, count() FROM weather',
      /column blob1 in SELECT is not under an aggregate function and not in GROUP BY/,
    );
    fails('SELECT count() FROM weather WHERE count() > 1', /aggregate functions are not allowed in WHERE/);
    fails('SELECT sum(count()) FROM weather', /cannot be nested/);
    fails(
      'SELECT nope FROM weather',
      /unknown column nope in SELECT \(columns: dataset, timestamp, _sample_interval, index1, blob1 … blob20, double1 … double20\)/,
    );
    fails('SELECT nope(1)', /unknown function nope/);
    fails('SELECT * FROM weather JOIN other ON 1', /JOIN is not supported/);
    fails('SELECT 1 UNION ALL SELECT 2', /UNION is not supported/);
    fails('WITH x AS (SELECT 1) SELECT * FROM x', /WITH statements are not supported/);
    fails(
      'SELECT * FROM weather WHERE blob1 IN (SELECT blob1 FROM weather)',
      /IN \(SELECT …\) is not supported/,
    );
    fails('INSERT INTO weather VALUES (1)', /INSERT statements are not supported/);
    fails('SELECT 1; SELECT 2', /one statement per query/);
    fails('SELECT count() FROM weather FORMAT CSV', /FORMAT CSV is not supported/);
    fails("SELECT toDateTime('2024-01-01', 'Europe/Paris')", /timezone 'Europe\/Paris' is not supported/);
    fails('SELECT blob1 = 1 FROM weather', /cannot compare String with UInt8/);
    fails('SELECT count() FROM weather LIMIT BY blob1', /LIMIT takes a whole number/);
    fails("SELECT 'unterminated", /unterminated string/);
  });

  it('reads only the points table of the account, whatever the query holds', () => {
    const fails = (sql: string, re: RegExp) => assert.throws(() => q(ae, sql), re);
    // Table names are dataset names: none of these reach SQLite's own tables or the index.
    fails('SELECT * FROM points', /unknown dataset "points"/);
    fails('SELECT * FROM datasets', /unknown dataset "datasets"/);
    fails('SELECT * FROM sqlite_master', /unknown dataset "sqlite_master"/);
    fails('SELECT * FROM main.points', /without a database/);
    fails('SELECT account FROM weather', /unknown column account/);
    fails('SELECT rowid FROM weather', /unknown column rowid/);
    fails('SELECT * FROM weather AS w WHERE other.blob1 = 1', /unknown table "other"/);
    // Text is a value, never SQL.
    assert.equal(q(ae, "SELECT count() AS n FROM weather WHERE blob1 = ''' OR 1=1 --'").data[0].n, '0');
    assert.equal(q(ae, `SELECT count() AS n FROM "weather" WHERE blob1 = 'Oslo'`).data[0].n, '12');
    assert.equal(q(ae, 'SELECT w.blob1 AS b FROM weather AS w LIMIT 1').rows, 1);
    fails('SELECT * FROM "weather""; DROP TABLE points; --"', /unknown dataset/);
    assert.equal(q(ae, 'SELECT count() AS n FROM weather').data[0].n, '25');
  });

  it('functions of the SQL reference', () => {
    const one = (sql: string) => Object.values(q(ae, `SELECT ${sql} AS v`).data[0])[0];
    assert.equal(one("toYear(toDateTime('2025-10-27 09:11:13'))"), 2025);
    assert.equal(one("toDayOfWeek(toDateTime('2025-11-02 00:00:00'))"), 7);
    assert.equal(one("toStartOfWeek(toDateTime('2025-10-29 00:00:00'))"), '2025-10-27 00:00:00');
    assert.equal(one("toStartOfMonth(toDateTime('2025-10-27 00:00:00'))"), '2025-10-01 00:00:00');
    assert.equal(one("toStartOfFifteenMinutes(toDateTime('2025-10-27 16:55:25'))"), '2025-10-27 16:45:00');
    assert.equal(
      one("toStartOfInterval(toDateTime('2025-10-27 16:55:25'), INTERVAL '1' DAY)"),
      '2025-10-27 00:00:00',
    );
    assert.equal(one("toYYYYMM(toDateTime('2025-10-27 16:55:25'))"), 202510);
    assert.equal(one("toUnixTimestamp(toDateTime('1981-04-12 12:00:04'))"), 355924804);
    assert.equal(one('toDateTime(355924804)'), '1981-04-12 12:00:04');
    assert.equal(one("formatDateTime(toDateTime('2022-12-01 16:17:00'), '%Y-%m-%d')"), '2022-12-01');
    assert.equal(one("extract(SECOND from toDateTime('2022-06-06 11:30:15'))"), 15);
    assert.equal(one("toDateTime('2025-01-31 10:00:00') + INTERVAL '1' MONTH"), '2025-02-28 10:00:00');
    assert.equal(one("position(':' IN 'hello: world')"), '6');
    assert.equal(one("substring('hello: world', 1, position(':' IN 'hello: world') - 1)"), 'hello');
    assert.equal(one("length('héllo')"), '5');
    assert.equal(one("upperUTF8('é')"), 'É');
    assert.equal(one("format('blob1: {}', 'x')"), 'blob1: x');
    assert.equal(one("if(20 > 20, 'It is warm', 'Bring a jumper')"), 'Bring a jumper');
    assert.equal(one('round(5.5)'), 6);
    assert.equal(one('round(3.14, 1)'), 3.1);
    assert.equal(one('ceil(3.14, 1)'), 3.2);
    assert.equal(one('intDiv(7, 2)'), 3);
    assert.equal(one('pow(2, 10)'), 1024);
    assert.equal(one('bitShiftLeft(128, 1)'), 0);
    assert.equal(one('bitRotateRight(1, 1)'), 128);
    assert.equal(one('bitHammingDistance(3, 0)'), 2);
    assert.equal(one("hex('abc')"), '616263');
    assert.equal(one('toUInt8(300)'), 44);
    assert.deepEqual(q(ae, 'SELECT topK(1)(blob1) AS t FROM weather').data, [{ t: ['Paris'] }]);
    assert.deepEqual(
      q(ae, 'SELECT argMax(blob1, double1) AS hot, argMin(blob1, double1) AS cold FROM weather').data,
      [{ hot: 'Paris', cold: 'Oslo' }],
    );
  });
});

describe('the result cap', () => {
  it('refuses an answer longer than maxRows, asking for a LIMIT', async () => {
    const { runQuery } = await import('./sql/query.ts');
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(':memory:');
    assert.throws(
      () => runQuery(db, { account: 'local', sql: 'SELECT 1', datasets: [], maxRows: 0 }),
      /more than 0 rows: add a LIMIT/,
    );
    db.close();
  });
});
