// wrangler's ways of choosing and reading a config (environments, the deploy redirect, the entry
// on the command line, name = "") and the keys read by the binding registry's parsers.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './load.ts';
import { bindingsOf } from './types.ts';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-wrangler-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const quiet = { warn: () => {} };

describe('choosing the config', () => {
  it('[env.NAME]: inherits top-level keys but not bindings, vars or define; names the worker <name>-<env>', () => {
    const dir = project({
      'wrangler.toml': [
        'name = "shop"',
        'main = "w.js"',
        'compatibility_date = "2025-01-01"',
        'define = { X = "1" }',
        '[vars]',
        'A = "top"',
        '[[kv_namespaces]]',
        'binding = "TOP_KV"',
        '[env.staging.vars]',
        'A = "staging"',
        '[env.named]',
        'name = "shop-preview"',
      ].join('\n'),
      'w.js': '',
      '.dev.vars': 'S=base',
      '.dev.vars.staging': 'S=staging',
    });
    const staging = loadConfig(dir, { ...quiet, env: 'staging' });
    assert.equal(staging.name, 'shop-staging');
    assert.equal(staging.compatibilityDate, '2025-01-01');
    assert.deepEqual(staging.vars, { A: 'staging', S: 'staging' });
    assert.deepEqual(staging.bindings, []);
    assert.deepEqual(staging.build.define, {});
    assert.equal(loadConfig(dir, { ...quiet, env: 'named' }).name, 'shop-preview');
    const top = loadConfig(dir, quiet);
    assert.deepEqual(top.vars, { A: 'top', S: 'base' });
    assert.deepEqual(top.build.define, { X: '1' });
    assert.throws(
      () => loadConfig(dir, { ...quiet, env: 'prod' }),
      /"env\.prod" must be an environment \(--env prod\); this file has staging, named/,
    );
  });

  it('follows .wrangler/deploy/config.json to the built config', () => {
    const dir = project({
      'wrangler.toml': 'name = "source"\nmain = "src/w.js"',
      'src/w.js': '',
      'dist/worker/wrangler.json': '{ "name": "built", "main": "index.js" }',
      'dist/worker/index.js': '',
      '.wrangler/deploy/config.json': '{ "configPath": "../../dist/worker/wrangler.json" }',
    });
    const c = loadConfig(dir, quiet);
    assert.equal(c.name, 'built');
    assert.equal(c.main, join(dir, 'dist/worker/index.js'));
    const broken = project({
      'wrangler.toml': 'main = "w.js"',
      'w.js': '',
      '.wrangler/deploy/config.json': '{ "configPath": "../../dist/x.json" }',
    });
    assert.throws(
      () => loadConfig(broken, quiet),
      /"configPath" must be a config file that exists \(run the build first\)/,
    );
    const elsewhere = project({ 'wrangler.toml': 'main = "w.js"', 'w.js': '' });
    const pointing = project({
      '.wrangler/deploy/config.json': JSON.stringify({ configPath: join(elsewhere, 'wrangler.toml') }),
    });
    assert.throws(
      () => loadConfig(pointing, quiet),
      /"configPath" must be a config file inside the project folder/,
    );
  });

  it('an entry on the command line wins over main, and needs no config', () => {
    const dir = project({ 'wrangler.toml': 'name = "a"\nmain = "main.js"', 'main.js': '', 'other.js': '' });
    assert.equal(loadConfig(dir, { ...quiet, main: join(dir, 'other.js') }).main, join(dir, 'other.js'));
    const bare = project({ 'index.ts': '' });
    const c = loadConfig(bare, { ...quiet, main: join(bare, 'index.ts') });
    assert.equal(c.name, basename(bare));
    assert.throws(
      () => loadConfig(bare, { ...quiet, main: join(bare, 'missing.ts') }),
      /must be a path to an existing file/,
    );
  });

  it('name = "" takes the folder\'s name, as wrangler accepts it', () => {
    const dir = project({ 'wrangler.json': '{ "name": "", "main": "w.js" }', 'w.js': '' });
    assert.equal(loadConfig(dir, quiet).name, basename(dir));
  });
});

describe('keys read by the binding registry', () => {
  it('d1_databases: an id of its own without database_id; migrations_dir from the config folder', () => {
    const dir = project({
      'wrangler.toml':
        'name = "w"\nmain = "w.js"\nd1_databases = [{ binding = "DB", database_name = "app" }, { binding = "B", database_id = "b-id", migrations_dir = "sql" }]',
      'w.js': '',
    });
    const d1 = bindingsOf(loadConfig(dir, quiet).bindings, 'd1');
    assert.deepEqual(
      d1.map((b) => [b.binding, b.id, b.own ?? false, b.migrationsDir, b.migrationsTable]),
      [
        ['DB', 'w:DB', true, join(dir, 'migrations'), 'd1_migrations'],
        ['B', 'b-id', false, join(dir, 'sql'), 'd1_migrations'],
      ],
    );
  });

  it('r2_buckets: a bucket of its own without bucket_name; bad entries named by key', () => {
    const dir = project({
      'wrangler.toml':
        'name = "w"\nmain = "w.js"\nr2_buckets = [{ binding = "BUCKET", bucket_name = "b" }, { binding = "MINE" }]',
      'w.js': '',
    });
    assert.deepEqual(
      bindingsOf(loadConfig(dir, quiet).bindings, 'r2').map((b) => [
        b.binding,
        b.bucket,
        b.own ?? false,
        b.key,
      ]),
      [
        ['BUCKET', 'b', false, 'r2_buckets[0]'],
        ['MINE', 'w:MINE', true, 'r2_buckets[1]'],
      ],
    );
    const cases: [string, RegExp][] = [
      [
        'r2_buckets = [{ binding = "my bucket" }]',
        /"r2_buckets\[0\]\.binding" must be a JavaScript identifier/,
      ],
      [
        'r2_buckets = [{ binding = "B", bucket_name = "a/b" }]',
        /"r2_buckets\[0\]\.bucket_name" must be an id without ":" or "\/"/,
      ],
      ['r2_buckets = { binding = "B" }', /"r2_buckets" must be an array of/],
    ];
    for (const [toml, re] of cases) {
      writeFileSync(join(dir, 'wrangler.toml'), `main = "w.js"\n${toml}`);
      assert.throws(() => loadConfig(dir, quiet), re, toml);
    }
  });

  it('assets: a directory that exists, known options only, an optional binding; no main needed', () => {
    const dir = project({
      'public/index.html': '',
      'wrangler.toml': 'assets = { directory = "public", binding = "ASSETS" }',
    });
    const c = loadConfig(dir, quiet);
    assert.equal(c.main, undefined);
    assert.equal(c.assets?.htmlHandling, 'auto-trailing-slash');
    assert.deepEqual(
      bindingsOf(c.bindings, 'assets').map((b) => b.binding),
      ['ASSETS'],
    );
    const cases: [string, RegExp][] = [
      ['assets = { directory = "nope" }', /"assets\.directory" must be an existing folder/],
      [
        'assets = { directory = "public", html_handling = "auto" }',
        /"assets\.html_handling" must be one of "auto-trailing-slash"/,
      ],
      [
        'assets = { directory = "public", run_worker_first = ["api/*"] }',
        /"assets\.run_worker_first" must be true, false, or a list of route patterns/,
      ],
      ['assets = { directory = "public", serve_directly = true }', /"assets\.serve_directly" must be absent/],
      [
        'assets = { directory = "public", run_worker_first = ["/?*?*?*?*?*b"] }',
        /"assets\.run_worker_first\[0\]" must be a route pattern of at most 256 characters with at most 4 wildcards/,
      ],
      ['name = "x"', /"main" must be the path of the entry module/],
    ];
    for (const [toml, re] of cases) {
      writeFileSync(join(dir, 'wrangler.toml'), toml);
      assert.throws(() => loadConfig(dir, quiet), re, toml);
    }
  });

  it('bindings Outpost does not provide are kept with their key and what they are', () => {
    const dir = project({
      'wrangler.toml': [
        'main = "w.js"',
        'ai = { binding = "AI" }',
        'send_email = [{ name = "MAIL" }]',
        '[queues]',
        'producers = [{ binding = "Q", queue = "q" }]',
        'consumers = [{ queue = "q" }]',
      ].join('\n'),
      'w.js': '',
    });
    const config = loadConfig(dir, quiet);
    assert.deepEqual(
      bindingsOf(config.bindings, 'unsupported').map((b) => [b.binding, b.key, b.what]),
      [
        ['MAIL', 'send_email[0]', 'an Email sending binding'],
        ['AI', 'ai', 'the Workers AI binding'],
      ],
    );
    // Queues are provided: a producer binding, and the consumer with Cloudflare's defaults.
    assert.deepEqual(
      bindingsOf(config.bindings, 'queue').map((b) => [b.binding, b.queue, b.key]),
      [['Q', 'q', 'queues.producers[0]']],
    );
    assert.deepEqual(config.queueConsumers, [
      { queue: 'q', maxBatchSize: 10, maxBatchTimeout: 5, maxRetries: 3, retryDelay: 0, maxConcurrency: 1 },
    ]);
  });

  it('queues are checked, naming the key', () => {
    const cases: [string, RegExp][] = [
      [
        '[queues]\nproducers = [{ binding = "my q", queue = "q" }]',
        /"queues\.producers\[0\]\.binding" must be a JavaScript identifier/,
      ],
      [
        '[queues]\nconsumers = [{ queue = "q", max_batch_size = 500 }]',
        /"queues\.consumers\[0\]\.max_batch_size" must be a whole number from 1 to 100/,
      ],
      [
        '[queues]\nconsumers = [{ queue = "q", dead_letter_queue = "q" }]',
        /"queues\.consumers\[0\]\.dead_letter_queue" must be another queue than the one consumed/,
      ],
      [
        '[queues]\nconsumers = [{ queue = "bad name" }]',
        /"queues\.consumers\[0\]\.queue" must be a queue name/,
      ],
      ['[queues]\nconsumer = []', /"queues\.consumer" must be one of the known keys/],
    ];
    for (const [toml, err] of cases) {
      const dir = project({ 'wrangler.toml': `main = "w.js"\n${toml}\n`, 'w.js': '' });
      assert.throws(() => loadConfig(dir, quiet), err, toml);
    }
  });

  it('rules, alias and define are checked, naming the key', () => {
    const cases: [string, RegExp][] = [
      [
        'rules = [{ type = "Yaml", globs = ["*.yml"] }]',
        /"rules\[0\]\.type" must be one of Text, Data, CompiledWasm/,
      ],
      ['rules = [{ type = "Text", globs = [] }]', /"rules\[0\]\.globs" must be a non-empty array/],
      ['alias = { a = 1 }', /"alias" must be a table of name = "string"/],
      ['minify = "yes"', /"minify" must be true or false/],
    ];
    for (const [toml, re] of cases) {
      const dir = project({ 'wrangler.toml': `main = "w.js"\n${toml}`, 'w.js': '' });
      assert.throws(() => loadConfig(dir, quiet), re, toml);
    }
  });
});
