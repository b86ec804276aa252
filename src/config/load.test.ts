import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from './errors.ts';
import { loadConfig } from './load.ts';
import { bindingsOf } from './types.ts';

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

  it('keeps keys it does not act on and names them all in one warning per file, with what happens instead', () => {
    const dir = project({
      'wrangler.toml':
        'main = "w.js"\nworkers_dev = true\nmade_up = 1\nno_bundle = true\n[triggers]\ncrons = ["* * * * *"]\n',
      'w.js': '',
    });
    const warnings: string[] = [];
    const c = loadConfig(dir, { warn: (m) => warnings.push(m) });
    loadConfig(dir, { warn: (m) => warnings.push(m) });
    assert.deepEqual(c.unknown, { workers_dev: true, made_up: 1, no_bundle: true });
    assert.deepEqual(c.crons, ['* * * * *']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /workers_dev: no effect/);
    assert.match(warnings[0], /no_bundle: not supported/);
    assert.match(warnings[0], /made_up: not a key Outpost knows; ignored/);
  });

  it('reads durable_objects bindings and migrations, and names what is wrong', () => {
    const ok = project({
      'wrangler.toml': [
        'main = "w.js"',
        '[[durable_objects.bindings]]',
        'name = "ROOM"',
        'class_name = "Room"',
        '[[durable_objects.bindings]]',
        'name = "OTHER"',
        'class_name = "Elsewhere"',
        'script_name = "other-worker"',
        '[[migrations]]',
        'tag = "v1"',
        'new_classes = ["OldRoom", "Gone"]',
        '[[migrations]]',
        'tag = "v2"',
        'renamed_classes = [{ from = "OldRoom", to = "Room" }]',
        'deleted_classes = ["Gone"]',
        'new_sqlite_classes = ["Chat"]',
      ].join('\n'),
      'w.js': '',
    });
    const c = loadConfig(ok, { warn: () => {} });
    assert.deepEqual(bindingsOf(c.bindings, 'do'), [
      {
        binding: 'ROOM',
        className: 'Room',
        scriptName: undefined,
        type: 'do',
        key: 'durable_objects.bindings[0]',
      },
      {
        binding: 'OTHER',
        className: 'Elsewhere',
        scriptName: 'other-worker',
        type: 'do',
        key: 'durable_objects.bindings[1]',
      },
    ]);
    assert.deepEqual(c.durableObjectClasses, [
      { className: 'Chat', storage: 'sqlite' },
      { className: 'Room', storage: 'kv' },
    ]);
    const bind = '[[durable_objects.bindings]]\nname = "ROOM"\nclass_name = "Room"\n';
    const cases: [string, RegExp][] = [
      [bind, /"durable_objects\.bindings\[0\]\.class_name" must be a class a migration creates/],
      ['durable_objects = [1]', /"durable_objects" must be a table with a "bindings" array/],
      [
        '[[durable_objects.bindings]]\nname = "no good"\nclass_name = "Room"',
        /bindings\[0\]\.name" must be a JavaScript identifier/,
      ],
      [
        '[[migrations]]\ntag = "v1"\nnew_classes = ["A"]\n[[migrations]]\ntag = "v1"\nnew_classes = ["B"]',
        /"migrations\[1\]\.tag" must be a tag no earlier migration uses/,
      ],
      [
        '[[migrations]]\ntag = "v1"\nnew_classes = ["A", "A"]',
        /"migrations\[0\]\.new_classes\[1\]" must be a class no earlier migration created/,
      ],
      [
        '[[migrations]]\ntag = "v1"\nrenamed_classes = [{ from = "X", to = "Y" }]',
        /"migrations\[0\]\.renamed_classes\[0\]\.from" must be a class an earlier migration created/,
      ],
      [
        '[[migrations]]\ntag = "v1"\ndeleted_classes = ["X"]',
        /"migrations\[0\]\.deleted_classes\[0\]" must be a class an earlier migration created/,
      ],
      ['[[migrations]]\nnew_classes = ["A"]', /"migrations\[0\]\.tag" must be a non-empty string/],
    ];
    for (const [toml, re] of cases) {
      const dir = project({ 'wrangler.toml': `main = "w.js"\n${toml}\n`, 'w.js': '' });
      assert.throws(() => loadConfig(dir, { warn: () => {} }), re, toml);
    }
  });

  it("reads kv_namespaces (without an id, the worker's own namespace) and names what is wrong", () => {
    const ok = project({
      'wrangler.toml':
        'name = "w"\nmain = "w.js"\nkv_namespaces = [{ binding = "A", id = "ns-a" }, { binding = "B" }]\n',
      'w.js': '',
    });
    assert.deepEqual(bindingsOf(loadConfig(ok, { warn: () => {} }).bindings, 'kv'), [
      { binding: 'A', id: 'ns-a', type: 'kv', key: 'kv_namespaces[0]' },
      { binding: 'B', id: 'w:B', own: true, type: 'kv', key: 'kv_namespaces[1]' },
    ]);
    const cases: [string, RegExp][] = [
      ['kv_namespaces = "A"', /"kv_namespaces" must be an array of \{ binding, id \}/],
      [
        'kv_namespaces = [{ binding = "not valid", id = "x" }]',
        /"kv_namespaces\[0\]\.binding" must be a JavaScript identifier/,
      ],
      ['kv_namespaces = [{ binding = "A", id = "" }]', /"kv_namespaces\[0\]\.id" must be a namespace id/],
      [
        'kv_namespaces = [{ binding = "A", id = "other:STORE" }]',
        /"kv_namespaces\[0\]\.id" must be a namespace id without ":" .*received "other:STORE"/,
      ],
      [
        '[vars]\nA = 1\n[[kv_namespaces]]\nbinding = "A"',
        /"kv_namespaces\[0\]" must be a binding name no other binding or var uses, received "A"/,
      ],
    ];
    for (const [toml, re] of cases) {
      const dir = project({ 'wrangler.toml': `main = "w.js"\n${toml}\n`, 'w.js': '' });
      assert.throws(() => loadConfig(dir, { warn: () => {} }), re, toml);
    }
  });

  it('reads unsafe_eval bindings and refuses other unsafe binding types, naming the key', () => {
    const ok = project({
      'wrangler.toml': 'main = "w.js"\n[[unsafe.bindings]]\nname = "EVAL"\ntype = "unsafe_eval"\n',
      'w.js': '',
    });
    assert.deepEqual(loadConfig(ok, { warn: () => {} }).bindings, [
      { type: 'unsafe_eval', binding: 'EVAL', key: 'unsafe.bindings[0]' },
    ]);
    const bad = project({
      'wrangler.toml': 'main = "w.js"\n[[unsafe.bindings]]\nname = "X"\ntype = "ratelimit"\n',
      'w.js': '',
    });
    assert.throws(
      () => loadConfig(bad, { warn: () => {} }),
      (e: unknown) => e instanceof ConfigError && /unsafe\.bindings\[0\]\.type/.test(e.message),
    );
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
