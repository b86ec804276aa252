// `outpost d1`: migrations and SQL on the same database files `outpost dev` serves.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/program.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (c) => void (out += String(c)), err: (t) => void (err += t) });
  return { code, out, err };
}

let fixture: ReturnType<typeof copyFixture>;
before(() => {
  fixture = copyFixture('platform');
});
after(() => fixture.cleanup());

describe('outpost d1', () => {
  it("lists, applies and creates migrations in the binding's migrations_dir", async () => {
    const p = ['--project', fixture.dir];
    assert.match((await cli('d1', 'migrations', 'list', 'DB', ...p)).out, /0001_init\.sql/);
    assert.match((await cli('d1', 'migrations', 'apply', 'app', ...p)).out, /Applied:\n {2}0001_init\.sql/);
    assert.match((await cli('d1', 'migrations', 'list', 'DB', ...p)).out, /No migrations to apply/);
    const made = await cli('d1', 'migrations', 'create', 'DB', 'Add tags', ...p);
    assert.ok(existsSync(join(fixture.dir, 'migrations', '0002_add_tags.sql')), made.out);
  });

  it('executes SQL the running worker then reads, and names what is wrong', async () => {
    const p = ['--project', fixture.dir];
    const r = await cli(
      'd1',
      'execute',
      'DB',
      '--command',
      "INSERT INTO notes (body) VALUES ('from cli')",
      ...p,
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out)[0].meta.changes, 1);
    let dev: TestDev | undefined;
    try {
      dev = await startFixture(fixture.dir);
      const notes = (await (await fetch(`${dev.url}/api/notes`)).json()) as { results: { body: string }[] };
      assert.deepEqual(
        notes.results.map((n) => n.body),
        ['from cli'],
      );
    } finally {
      await dev?.close();
    }
    const missing = await cli('d1', 'execute', 'NOPE', '--command', 'SELECT 1', ...p);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no D1 database "NOPE" .*d1_databases has: DB/);
    const bad = await cli('d1', 'execute', 'DB', '--command', 'SELECT * FROM nowhere', ...p);
    assert.match(bad.err, /D1_ERROR: no such table: nowhere/);
    assert.match((await cli('d1', 'execute', 'DB', ...p)).err, /give either --command SQL or --file FILE/);
  });
});
