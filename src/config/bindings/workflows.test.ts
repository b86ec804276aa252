// [[workflows]] in wrangler.toml and wrangler.jsonc: Cloudflare's shape (name, binding,
// class_name, script_name, limits.steps), and a bad entry is an error naming its key.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../load.ts';
import { bindingsOf } from '../types.ts';

function load(name: string, text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-workflows-config-'));
  writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'w.js'), '');
  return loadConfig(dir, { warn: () => {} });
}

const head = 'name = "w"\nmain = "w.js"\n';

describe('workflows config', () => {
  it('reads a defined Workflow and a binding to another worker’s', () => {
    const config = load(
      'wrangler.toml',
      `${head}
[[workflows]]
name = "my-flow"
binding = "FLOW"
class_name = "MyFlow"
limits = { steps = 100 }

[[workflows]]
name = "theirs"
binding = "THEIRS"
class_name = "TheirFlow"
script_name = "other"
`,
    );
    assert.deepEqual(
      bindingsOf(config.bindings, 'workflow').map(({ key: _k, ...b }) => b),
      [
        { type: 'workflow', binding: 'FLOW', name: 'my-flow', className: 'MyFlow', steps: 100 },
        {
          type: 'workflow',
          binding: 'THEIRS',
          name: 'theirs',
          className: 'TheirFlow',
          steps: 10_000,
          scriptName: 'other',
        },
      ],
    );
  });

  it('reads wrangler.jsonc as create-cloudflare writes it', () => {
    const config = load(
      'wrangler.jsonc',
      `{ "name": "w", "main": "w.js", "workflows": [ { "name": "workflow-w", "binding": "MY_WORKFLOW", "class_name": "MyWorkflow", }, ], }`,
    );
    assert.equal(bindingsOf(config.bindings, 'workflow')[0].className, 'MyWorkflow');
  });

  const bad: [string, RegExp][] = [
    ['workflows = { name = "x" }', /workflows" must be an array/],
    ['[[workflows]]\nbinding = "F"\nclass_name = "C"', /workflows\[0\]\.name" must be a Workflow name/],
    ['[[workflows]]\nname = "has space"\nbinding = "F"\nclass_name = "C"', /workflows\[0\]\.name/],
    [
      '[[workflows]]\nname = "x"\nbinding = "1F"\nclass_name = "C"',
      /workflows\[0\]\.binding" must be a JavaScript identifier/,
    ],
    ['[[workflows]]\nname = "x"\nbinding = "F"', /workflows\[0\]\.class_name/],
    [
      '[[workflows]]\nname = "x"\nbinding = "F"\nclass_name = "C"\nretries = 3',
      /workflows\[0\]\.retries" must be one of the known keys/,
    ],
    [
      '[[workflows]]\nname = "x"\nbinding = "F"\nclass_name = "C"\nlimits = { steps = 0 }',
      /workflows\[0\]\.limits\.steps/,
    ],
    [
      '[[workflows]]\nname = "x"\nbinding = "F"\nclass_name = "C"\n[[workflows]]\nname = "x"\nbinding = "G"\nclass_name = "D"',
      /workflows\[1\]\.name" must be a Workflow this worker does not define twice/,
    ],
  ];
  for (const [toml, message] of bad)
    it(`refuses ${toml.split('\n').slice(-1)[0]}`, () => {
      assert.throws(() => load('wrangler.toml', `${head}${toml}\n`), message);
    });
});
