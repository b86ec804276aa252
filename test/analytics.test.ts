// Workers Analytics Engine end to end: a worker under `outpost dev` writes data points (the seed
// system's metrics flush among them), they reach `.outpost/analytics/` without a query asking,
// and the SQL API answers over the admin endpoint and `outpost analytics query`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AnalyticsEngine } from '../src/analytics/index.ts';
import { runCli } from '../src/cli/program.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (c) => void (out += String(c)), err: (t) => void (err += t) });
  return { code, out, err };
}

let fixture: ReturnType<typeof copyFixture>;
let dev: TestDev;

async function sql(query: string, token = dev.adminToken): Promise<Response> {
  return fetch(`${dev.url}/__outpost/analytics/sql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: query,
  });
}

async function rows(query: string): Promise<Record<string, unknown>[]> {
  const res = await sql(query);
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { data: Record<string, unknown>[] }).data;
}

/** What the file holds now, read as the CLI reads it (no flush from this side). */
function onDisk(query: string): Record<string, unknown>[] {
  const ae = new AnalyticsEngine({
    file: join(fixture.dir, '.outpost', 'analytics', 'analytics.sqlite'),
    readonly: true,
  });
  try {
    return ae.query('local', query).answer.data;
  } finally {
    ae.close();
  }
}

async function eventually<T>(fn: () => T, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    let v: T | undefined;
    try {
      v = fn();
      if (ok(v)) return v;
    } catch (err) {
      if (Date.now() > end) throw err;
    }
    if (Date.now() > end) return v as T;
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  fixture = copyFixture('analytics');
  dev = await startFixture(fixture.dir);
});
after(async () => {
  await dev?.close();
  fixture.cleanup();
});

describe('writeDataPoint() in a worker', () => {
  it('is fire-and-forget, and the points reach the file within moments, without a query', async () => {
    const res = await fetch(`${dev.url}/write?n=3&city=Oslo`);
    assert.equal(await res.text(), 'ok');
    const found = await eventually(
      () => onDisk("SELECT count() AS n FROM EVENTS WHERE blob1 = 'Oslo'"),
      (r) => r[0]?.n === '3',
    );
    assert.deepEqual(found, [{ n: '3' }]);
    assert.deepEqual(
      await rows(
        "SELECT blob2, index1, sum(double1) AS s FROM EVENTS WHERE blob1 = 'Oslo' GROUP BY blob2, index1",
      ),
      [{ blob2: 'GET', index1: 'Oslo', s: 3 }],
    );
  });

  it("runs the seed system's metrics flush unchanged: `await` on an undefined return", async () => {
    const res = (await (await fetch(`${dev.url}/flush?path=/api`)).json()) as { result: string };
    assert.deepEqual(res, { result: 'undefined' });
    const [row] = await rows(
      'SELECT blob1, double1, double2, double3, double4, index1, dataset, _sample_interval FROM edge_metrics',
    );
    assert.deepEqual(JSON.parse(row.blob1 as string), { requests: 12, errors: 1, colo: 'FRA', path: '/api' });
    assert.deepEqual(
      [row.double1, row.double2, row.double3, row.double4, row.index1, row.dataset, row._sample_interval],
      [12, 1, 250.5, 0.083, 'FRA', 'edge_metrics', 1],
    );
  });

  it('writes from waitUntil after the response', async () => {
    assert.equal(await (await fetch(`${dev.url}/later`)).text(), 'ok');
    const found = await eventually(
      () => onDisk("SELECT count() AS n FROM EVENTS WHERE blob1 = 'later'"),
      (r) => r[0]?.n === '1',
    );
    assert.deepEqual(found, [{ n: '1' }]);
  });

  it('converts values as workerd does: String() for blobs, bytes as text, Number() for doubles', async () => {
    assert.equal(await (await fetch(`${dev.url}/types`)).text(), 'ok');
    assert.deepEqual(
      await rows("SELECT blob2, blob3, blob4, blob5, double1, double2 FROM EVENTS WHERE blob1 = 'types'"),
      [{ blob2: '42', blob3: '', blob4: 'bytes', blob5: 'bytes', double1: 3.5, double2: 1 }],
    );
    // writeDataPoint() with no argument writes an empty data point.
    assert.deepEqual(await rows("SELECT count() AS n FROM EVENTS WHERE blob1 = '' AND index1 = ''"), [
      { n: '1' },
    ]);
  });

  it("throws Cloudflare's errors where it is called, and stops at 250 calls per request", async () => {
    const r = (await (await fetch(`${dev.url}/limits`)).json()) as Record<string, unknown>;
    assert.deepEqual(r, {
      blobs: 'TypeError: writeDataPoint(): Maximum of 20 blobs supported.',
      doubles: 'TypeError: writeDataPoint(): Maximum of 20 doubles supported.',
      indexes: 'TypeError: writeDataPoint(): Maximum of 1 indexes supported.',
      indexSize: 'TypeError: writeDataPoint(): Size of indexes[0] exceeds 96 bytes).',
      blobSize: 'TypeError: writeDataPoint(): Cumulative size of blobs exceeds 16000 bytes).',
      notObject:
        "TypeError: Failed to execute 'writeDataPoint' on 'AnalyticsEngineDataset': parameter 1 is not of type 'AnalyticsEngineDataPoint'.",
      notArray:
        "TypeError: Incorrect type for the 'blobs' field on 'AnalyticsEngineDataPoint': the provided value is not of type 'Array'.",
      ok: 'returned undefined',
      calls: ['returned undefined', 'Error: Analytics Engine write limit exceeded.'],
      count: 243,
    });
    // The accepted ones were all written: one "limits-ok" and 242 of the loop.
    assert.deepEqual(
      await rows(
        "SELECT blob1, count() AS n FROM EVENTS WHERE blob1 IN ('limit', 'limits-ok') GROUP BY blob1 ORDER BY blob1",
      ),
      [
        { blob1: 'limit', n: '242' },
        { blob1: 'limits-ok', n: '1' },
      ],
    );
  });
});

describe('POST /__outpost/analytics/sql', () => {
  it('answers in the FORMAT asked, with the admin token only', async () => {
    assert.equal((await sql('SHOW TABLES', 'wrong-token-wrong-token')).status, 401);
    const get = await fetch(`${dev.url}/__outpost/analytics/sql`, {
      headers: { authorization: `Bearer ${dev.adminToken}` },
    });
    assert.equal(get.status, 405);
    const tables = (await (await sql('SHOW TABLES')).json()) as { data: unknown[] };
    assert.deepEqual(tables.data, [{ dataset: 'EVENTS' }, { dataset: 'edge_metrics' }]);
    const each = await sql('SELECT index1 FROM edge_metrics FORMAT JSONEachRow');
    assert.match(each.headers.get('content-type') ?? '', /application\/x-ndjson/);
    assert.equal(await each.text(), '{"index1":"FRA"}\n');
  });

  it('answers 400 naming what is wrong with the query', async () => {
    const res = await sql('SELECT * FROM nowhere');
    assert.equal(res.status, 400);
    assert.match(
      ((await res.json()) as { errors: { message: string }[] }).errors[0].message,
      /unknown dataset "nowhere"/,
    );
    const other = await fetch(`${dev.url}/__outpost/analytics/sql?account=someone-else`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dev.adminToken}` },
      body: 'SELECT count() FROM EVENTS',
    });
    assert.equal(other.status, 400, 'another account has no EVENTS dataset');
  });
});

describe('outpost analytics query', () => {
  it("reads the project's datasets, beside the running dev server", async () => {
    const p = ['--project', fixture.dir];
    const r = await cli(
      'analytics',
      'query',
      "SELECT blob1 AS city, count() AS n FROM EVENTS WHERE timestamp > NOW() - INTERVAL '1' DAY AND blob1 = 'Oslo' GROUP BY city",
      ...p,
    );
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out).data, [{ city: 'Oslo', n: '3' }]);
    const tsv = await cli('analytics', 'query', 'SELECT index1 FROM edge_metrics FORMAT TabSeparated', ...p);
    assert.equal(tsv.out, 'FRA\n');
    const bad = await cli('analytics', 'query', 'SELECT nope FROM EVENTS', ...p);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /unknown column nope in SELECT/);
    assert.match((await cli('analytics', 'query', ...p)).err, /give the query/);
  });
});
