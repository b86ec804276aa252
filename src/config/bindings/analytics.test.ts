// analytics_engine_datasets in wrangler.toml, wrangler.json and wrangler.jsonc: the dataset
// defaults to the binding's name, and a bad entry is an error naming its key.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../load.ts';
import { bindingsOf } from '../types.ts';

function load(name: string, text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-ae-config-'));
  writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'w.js'), '');
  return loadConfig(dir, { warn: () => {} });
}

describe('analytics_engine_datasets', () => {
  it('reads TOML, JSON and JSONC; the dataset defaults to the binding name', () => {
    const toml = load(
      'wrangler.toml',
      'name = "w"\nmain = "w.js"\n[[analytics_engine_datasets]]\nbinding = "AE"\ndataset = "events"\n[[analytics_engine_datasets]]\nbinding = "METRICS"\n',
    );
    const expected = [
      { binding: 'AE', dataset: 'events', type: 'analytics_engine', key: 'analytics_engine_datasets[0]' },
      {
        binding: 'METRICS',
        dataset: 'METRICS',
        type: 'analytics_engine',
        key: 'analytics_engine_datasets[1]',
      },
    ];
    assert.deepEqual(bindingsOf(toml.bindings, 'analytics_engine'), expected);
    const json = load(
      'wrangler.json',
      JSON.stringify({
        name: 'w',
        main: 'w.js',
        analytics_engine_datasets: [{ binding: 'AE', dataset: 'events' }, { binding: 'METRICS' }],
      }),
    );
    assert.deepEqual(bindingsOf(json.bindings, 'analytics_engine'), expected);
    const jsonc = load(
      'wrangler.jsonc',
      '// comments\n{ "name": "w", "main": "w.js", "analytics_engine_datasets": [\n  { "binding": "AE", "dataset": "events", "remote": false }, // trailing\n  { "binding": "METRICS" },\n] }',
    );
    assert.deepEqual(bindingsOf(jsonc.bindings, 'analytics_engine'), expected);
    // No longer an unsupported binding.
    assert.deepEqual(bindingsOf(jsonc.bindings, 'unsupported'), []);
  });

  it('names the bad key', () => {
    const bad = (entries: string, re: RegExp) =>
      assert.throws(
        () => load('wrangler.toml', `name = "w"\nmain = "w.js"\nanalytics_engine_datasets = ${entries}`),
        re,
      );
    bad('{ binding = "AE" }', /"analytics_engine_datasets" must be an array of \{ binding, dataset \}/);
    bad('["AE"]', /"analytics_engine_datasets\[0\]" must be a table/);
    bad('[{ dataset = "x" }]', /"analytics_engine_datasets\[0\]\.binding" must be a JavaScript identifier/);
    bad(
      '[{ binding = "AE", dataset = "a b" }]',
      /"analytics_engine_datasets\[0\]\.dataset" must be a dataset name .*received "a b"/,
    );
    bad(
      '[{ binding = "AE", dataset = 3 }]',
      /"analytics_engine_datasets\[0\]\.dataset" must be a dataset name/,
    );
    bad(
      '[{ binding = "A$" }]',
      /"analytics_engine_datasets\[0\]\.dataset" .*defaults to the binding name.*received "A\$"/,
    );
    bad('[{ binding = "AE", datset = "x" }]', /"analytics_engine_datasets\[0\]\.datset" must be absent/);
    bad(
      '[{ binding = "AE", remote = "yes" }]',
      /"analytics_engine_datasets\[0\]\.remote" must be true or false/,
    );
    bad(
      '[{ binding = "AE" }]\nkv_namespaces = [{ binding = "AE" }]',
      /a binding name no other binding or var uses/,
    );
  });
});
