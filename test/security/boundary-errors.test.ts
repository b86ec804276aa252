// isolated-vm gives an object thrown from the host into an isolate a native `stack` accessor
// that crashes the whole process (SIGSEGV) when it is read through another receiver, as
// `Object.create(err).stack` does. The host's synchronous syscalls therefore throw strings,
// and the prelude makes errors of them (src/runtime/bridge/syscalls.ts crossing,
// src/runtime/isolate/bridge.ts fromHost). Found by the bridge fuzz under load.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';

const CHILD = join(import.meta.dirname, '..', 'support', 'boundary-errors-child.ts');

it('what the raw synchronous syscalls throw crosses as text: read through another receiver, nothing crashes', () => {
  const r = spawnSync(process.execPath, ['--no-node-snapshot', '--import', 'tsx', CHILD], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `the child was killed by ${r.signal} (stderr: ${r.stderr.slice(0, 500)})`);
  assert.equal(r.status, 0, r.stderr.slice(0, 2000));
  const seen = JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as string[];
  assert.equal(seen.length, 4, r.stdout);
  for (const line of seen) {
    assert.match(line, /: string \| /, `a thrown string, not an object: ${line}`);
    assert.doesNotMatch(line, /node:internal|\/src\/runtime\//, `no host stack: ${line}`);
  }
});
