// `outpost dev`: hot reload, load and config errors, and bad input at the HTTP front.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../src/config/index.ts';
import { copyFixture, startFixture, type TestDev, waitFor } from './helpers.ts';

describe('hot reload', () => {
  let dev: TestDev;
  let fixture: ReturnType<typeof copyFixture>;
  before(async () => {
    fixture = copyFixture('reload');
    dev = await startFixture(fixture.dir, { watch: true });
  });
  after(async () => {
    await dev.close();
    fixture.cleanup();
  });

  it('rebuilds on change and swaps versions; requests in flight finish on the old one', async () => {
    assert.equal(await (await fetch(`${dev.url}/`)).text(), 'version 1');
    const inFlight = fetch(`${dev.url}/slow?ms=1000`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(join(fixture.dir, 'src/version.js'), 'export const VERSION = 2;\n');
    await waitFor(
      async () => ((await (await fetch(`${dev.url}/`)).text()) === 'version 2' ? true : undefined),
      8000,
      'version 2',
    );
    assert.equal(await inFlight, 'version 1');
  });

  it('keeps serving the last good version when a rebuild fails, and recovers', async () => {
    writeFileSync(join(fixture.dir, 'src/version.js'), 'export const VERSION = ;\n');
    await waitFor(
      () => dev.logs.some((l) => l.level === 'error' && l.message.includes('rebuild failed')),
      8000,
      'rebuild failure log',
    );
    assert.equal(await (await fetch(`${dev.url}/`)).text(), 'version 2');
    const failure = dev.logs.find((l) => l.message.includes('rebuild failed'))!;
    assert.match(failure.message, /src\/version\.js:1:\d+: Unexpected ";"/);
    writeFileSync(join(fixture.dir, 'src/version.js'), 'export const VERSION = 3;\n');
    await waitFor(
      async () => ((await (await fetch(`${dev.url}/`)).text()) === 'version 3' ? true : undefined),
      8000,
      'version 3',
    );
  });
});

describe('a project that does not build at start', () => {
  it('serves the build error (file and line) until the project builds, then the worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-broken-'));
    writeFileSync(join(dir, 'wrangler.toml'), 'name = "broken"\nmain = "w.js"\n');
    writeFileSync(join(dir, 'w.js'), 'export default { fetch() { return new Response("ok" } }\n');
    const dev = await startFixture(dir, { watch: true });
    try {
      const res = await fetch(`${dev.url}/`);
      assert.equal(res.status, 500);
      assert.equal(res.headers.get('outpost-error'), 'BUNDLE_FAILED');
      assert.match(await res.text(), /w\.js:1:\d+: Expected "\)" but found "\}"/);
      writeFileSync(join(dir, 'w.js'), 'export default { fetch() { return new Response("fixed") } }\n');
      await waitFor(
        async () => ((await (await fetch(`${dev.url}/`)).text()) === 'fixed' ? true : undefined),
        8000,
        'fixed build',
      );
    } finally {
      await dev.close();
    }
  });
});

describe('load errors', () => {
  it('answers 500 with the mapped stack when the worker throws at module load', async () => {
    const dev = await startFixture('throws-at-load');
    try {
      const res = await fetch(`${dev.url}/`);
      assert.equal(res.status, 500);
      const body = await res.text();
      assert.match(body, /failed to load: configuration missing at startup/);
      assert.match(body, /index\.js:2:\d+/);
    } finally {
      await dev.close();
    }
  });

  it('production mode answers a plain 500 without the stack, and still logs it', async () => {
    const dev = await startFixture('api', { production: true });
    try {
      const res = await fetch(`${dev.url}/throw`);
      assert.equal(res.status, 500);
      assert.equal(await res.text(), 'Worker threw an exception\n');
      assert.ok(dev.logs.some((l) => l.level === 'error' && l.message.includes('thrown on purpose')));
    } finally {
      await dev.close();
    }
  });
});

describe('config errors name the file, the key and what was expected', () => {
  const project = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-cfg-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'missing main file',
      { 'wrangler.toml': 'name = "x"\nmain = "src/nope.ts"\n' },
      /wrangler\.toml: "main" must be a path to an existing file, received "src\/nope\.ts/,
    ],
    ['no main key', { 'wrangler.toml': 'name = "x"\n' }, /"main" must be the path of the entry module/],
    ['bad TOML', { 'wrangler.toml': 'name = \n' }, /wrangler\.toml: "\(syntax\)" must be valid TOML/],
    [
      'bad JSON',
      { 'wrangler.json': '{ "name": }' },
      /wrangler\.json: "\(syntax\)" must be valid JSON with comments/,
    ],
    [
      'bad cpu_ms',
      { 'wrangler.toml': 'main = "w.js"\n[limits]\ncpu_ms = "fast"\n', 'w.js': '' },
      /"limits\.cpu_ms" must be a number of milliseconds/,
    ],
    [
      'bad name',
      { 'wrangler.toml': 'name = "has spaces"\nmain = "w.js"\n', 'w.js': '' },
      /"name" must be letters, digits/,
    ],
    [
      'bad vars',
      { 'wrangler.toml': 'main = "w.js"\nvars = 3\n', 'w.js': '' },
      /"vars" must be a table of name = value, received number 3/,
    ],
    [
      'bad date',
      { 'wrangler.toml': 'main = "w.js"\ncompatibility_date = "soon"\n', 'w.js': '' },
      /"compatibility_date" must be a date "YYYY-MM-DD"/,
    ],
    [
      'no config at all',
      { 'README.md': '' },
      /must be a folder holding one of wrangler\.json, wrangler\.jsonc, wrangler\.toml/,
    ],
  ];
  for (const [name, files, message] of cases) {
    it(name, async () => {
      await assert.rejects(startFixture(project(files)), (err: Error) => {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('the CLI prints the error and exits 1 (no crash trace)', async () => {
    const dir = project({ 'wrangler.toml': 'main = "missing.js"\n' });
    const bin = join(import.meta.dirname, '..', 'bin', 'outpost.mjs');
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'dev', dir, '--port', '0'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    assert.equal(code, 1);
    assert.match(stderr, /^outpost dev: .*wrangler\.toml: "main" must be a path to an existing file/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
});

describe('limit flags', () => {
  it('a CPU limit given on the command line wins over limits.cpu_ms in the config', async () => {
    const dev = await startFixture('limits', { limits: { cpuMs: 300 } });
    try {
      const res = await fetch(`${dev.url}/loop`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /exceeded CPU time limit \([\d.]+ ms used, limit 300 ms\)/);
    } finally {
      await dev.close();
    }
  });
});

describe('a rebuild redeploys whenever the config changes, not only code and some bindings', () => {
  const WORKER = `import { DurableObject } from 'cloudflare:workers';
export class Counter extends DurableObject {
  async fetch() { return new Response(String(((await this.ctx.storage.get('n')) ?? 0) + 1)); }
}
export class Later extends DurableObject {}
export default {
  async fetch(req, env) {
    if (new URL(req.url).pathname === '/count') return env.COUNTER.get(env.COUNTER.idFromName('a')).fetch(req);
    return Response.json(Object.keys(env).sort());
  },
};
`;
  const BASE = 'name = "refit"\nmain = "w.js"\ncompatibility_date = "2025-06-01"\n';
  const DO =
    '[[durable_objects.bindings]]\nname = "COUNTER"\nclass_name = "Counter"\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Counter"]\n';

  it('Durable Object bindings, migrations and limits edited in wrangler.toml take effect; an unchanged rebuild does not redeploy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-refit-'));
    writeFileSync(join(dir, 'w.js'), WORKER);
    writeFileSync(join(dir, 'wrangler.toml'), BASE);
    // No CPU limit override: the config's limits.cpu_ms is what decides.
    const dev = await startFixture(dir, { limits: { cpuMs: undefined }, durableObjects: { dir: null } });
    const reloads = () => dev.logs.filter((l) => l.message.startsWith('reloaded "refit"')).length;
    try {
      assert.deepEqual(await (await fetch(`${dev.url}/`)).json(), []);

      writeFileSync(join(dir, 'wrangler.toml'), `${BASE}${DO}`);
      assert.equal(await dev.reload(), null);
      assert.deepEqual(await (await fetch(`${dev.url}/`)).json(), ['COUNTER'], 'a new binding');
      assert.equal(await (await fetch(`${dev.url}/count`)).text(), '1');

      writeFileSync(
        join(dir, 'wrangler.toml'),
        `${BASE}${DO}[[migrations]]\ntag = "v2"\nnew_classes = ["Later"]\n`,
      );
      assert.equal(await dev.reload(), null);
      assert.deepEqual(
        dev.runtime.current('refit')?.durableObjectClasses.map((c) => `${c.className}:${c.storage}`),
        ['Counter:sqlite', 'Later:kv'],
        'a migration alone',
      );

      const before = reloads();
      writeFileSync(
        join(dir, 'wrangler.toml'),
        `${BASE}${DO}[[migrations]]\ntag = "v2"\nnew_classes = ["Later"]\n[limits]\ncpu_ms = 77\n`,
      );
      assert.equal(await dev.reload(), null);
      assert.equal(dev.runtime.current('refit')?.limits.cpuMs, 77, 'limits alone');
      assert.equal(reloads(), before + 1);

      assert.equal(await dev.reload(), null);
      assert.equal(reloads(), before + 1, 'nothing changed: the same version keeps serving');
    } finally {
      await dev.close();
    }
  });
});

describe('bad input at the HTTP front', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('api');
  });
  after(() => dev.close());

  const raw = (payload: string) =>
    new Promise<string>((resolve) => {
      const s = connect(dev.port, '127.0.0.1', () => s.write(payload));
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
      setTimeout(() => s.destroy(), 2000);
    });

  it('answers a malformed request line with 400', async () => {
    assert.match(await raw('NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request/);
  });
  it('answers oversized headers with 431', async () => {
    assert.match(
      await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`),
      /^HTTP\/1\.1 431/,
    );
  });
  it('answers a declared oversized body with 413 before running the worker', async () => {
    const out = await raw('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 413/);
  });
  it('keeps serving after all of that', async () => {
    assert.equal((await fetch(`${dev.url}/status?s=204`)).status, 204);
  });
});
