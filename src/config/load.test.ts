import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from './errors.ts';
import { loadConfig } from './load.ts';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('loadConfig', () => {
  it('reads wrangler.toml with defaults', () => {
    const dir = project({ 'wrangler.toml': 'main = "w.js"\n', 'w.js': '' });
    const c = loadConfig(dir, { warn: () => {} });
    assert.equal(c.main, join(dir, 'w.js'));
    assert.equal(c.name, dir.split('/').pop());
    assert.equal(c.limits.cpuMs, undefined); // the runtime's default (50 ms) applies
    assert.deepEqual(c.compatibilityFlags, []);
    assert.deepEqual(c.vars, {});
  });

  it('reads wrangler.jsonc with comments and trailing commas', () => {
    const dir = project({
      'wrangler.jsonc':
        '// c\n{ "name": "j", "main": "w.js", "compatibility_flags": ["nodejs_compat",], "vars": { "A": "1", }, }',
      'w.js': '',
    });
    const c = loadConfig(dir, { warn: () => {} });
    assert.equal(c.name, 'j');
    assert.deepEqual(c.compatibilityFlags, ['nodejs_compat']);
    assert.deepEqual(c.vars, { A: '1' });
  });

  it('prefers wrangler.json over wrangler.toml, as wrangler does', () => {
    const dir = project({
      'wrangler.json': '{ "name": "from-json", "main": "w.js" }',
      'wrangler.toml': 'name = "from-toml"\nmain = "w.js"\n',
      'w.js': '',
    });
    assert.equal(loadConfig(dir, { warn: () => {} }).name, 'from-json');
  });

  it('merges .dev.vars secrets over vars and records their names', () => {
    const dir = project({
      'wrangler.toml': 'main = "w.js"\n[vars]\nA = "var"\nB = "var"\n',
      '.dev.vars': 'B=secret\nC="quoted value"\n',
      'w.js': '',
    });
    const c = loadConfig(dir, { warn: () => {} });
    assert.deepEqual(c.vars, { A: 'var', B: 'secret', C: 'quoted value' });
    assert.deepEqual(c.secretNames, ['B', 'C']);
  });

  it('keeps unknown keys and warns about each once per file', () => {
    const dir = project({
      'wrangler.toml': 'main = "w.js"\nd1_databases = [{ binding = "DB", database_id = "x" }]\n',
      'w.js': '',
    });
    const warnings: string[] = [];
    const c = loadConfig(dir, { warn: (m) => warnings.push(m) });
    loadConfig(dir, { warn: (m) => warnings.push(m) });
    assert.deepEqual(c.unknown, { d1_databases: [{ binding: 'DB', database_id: 'x' }] });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /"d1_databases" is not supported by Outpost yet; ignored/);
  });

  it('reads kv_namespaces (the id defaults to the binding) and names what is wrong', () => {
    const ok = project({
      'wrangler.toml': 'main = "w.js"\nkv_namespaces = [{ binding = "A", id = "ns-a" }, { binding = "B" }]\n',
      'w.js': '',
    });
    assert.deepEqual(loadConfig(ok, { warn: () => {} }).kvNamespaces, [
      { binding: 'A', id: 'ns-a' },
      { binding: 'B', id: 'B' },
    ]);
    const cases: [string, RegExp][] = [
      ['kv_namespaces = "A"', /"kv_namespaces" must be an array of \{ binding, id \}/],
      [
        'kv_namespaces = [{ binding = "not valid", id = "x" }]',
        /"kv_namespaces\[0\]\.binding" must be a JavaScript identifier/,
      ],
      ['kv_namespaces = [{ binding = "A", id = "" }]', /"kv_namespaces\[0\]\.id" must be a namespace id/],
      [
        '[vars]\nA = 1\n[[kv_namespaces]]\nbinding = "A"',
        /"kv_namespaces\[0\]\.binding" must be a name no other binding or var uses, received "A"/,
      ],
    ];
    for (const [toml, re] of cases) {
      const dir = project({ 'wrangler.toml': `main = "w.js"\n${toml}\n`, 'w.js': '' });
      assert.throws(() => loadConfig(dir, { warn: () => {} }), re, toml);
    }
  });

  it('accepts a path to the config file itself', () => {
    const dir = project({ 'custom.toml': 'name = "c"\nmain = "w.js"\n', 'w.js': '' });
    assert.equal(loadConfig(join(dir, 'custom.toml'), { warn: () => {} }).name, 'c');
  });

  it('rejects vars that are TOML dates, naming the key', () => {
    const dir = project({
      'wrangler.toml': 'main = "w.js"\n[vars]\nWHEN = 2024-01-01T00:00:00Z\n',
      'w.js': '',
    });
    assert.throws(
      () => loadConfig(dir),
      (e: Error) => e instanceof ConfigError && /"vars\.WHEN" must be/.test(e.message),
    );
  });
});
