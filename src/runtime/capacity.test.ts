import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { memoryObserver } from '../observability/index.ts';
import { capacityOf, isolatesThatFit } from './capacity.ts';

describe("a runtime's capacity", () => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-capacity-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mapCount = (text: string) => {
    const p = join(dir, `max_map_count-${text.length}-${Math.random()}`);
    writeFileSync(p, text);
    return p;
  };

  it('fits isolates in vm.max_map_count at 14 mappings each, after a reserve for the process', () => {
    assert.deepEqual(isolatesThatFit(mapCount('65530\n')), { fit: 4388, maxMapCount: 65530 });
    assert.deepEqual(isolatesThatFit(mapCount('262144\n')), { fit: 18432, maxMapCount: 262144 });
    assert.equal(isolatesThatFit(join(dir, 'none')), undefined, 'unknown where there is no such file');
    assert.equal(isolatesThatFit(mapCount('lots')), undefined);
  });

  it('holds maxIsolates below what the process can map, and says so when asked for more', () => {
    const observer = memoryObserver();
    const limited = mapCount('65530');
    assert.equal(capacityOf({ maxIsolates: 10_000 }, observer, limited).maxIsolates, 4388);
    assert.match(
      observer.entries.map((l) => l.message).join('\n'),
      /maxIsolates 10000 is more than one process can map: vm\.max_map_count 65530 allows about 4388 isolates.*Raise vm\.max_map_count/,
    );
    const quiet = memoryObserver();
    assert.equal(capacityOf({}, quiet, limited).maxIsolates, 4388, 'the default too, silently');
    assert.equal(capacityOf({ maxIsolates: 100 }, quiet, limited).maxIsolates, 100);
    assert.equal(quiet.entries.length, 0);
  });

  it('refuses options out of range, naming them', () => {
    const o = memoryObserver();
    assert.throws(
      () => capacityOf({ poolSize: -1 }, o),
      /poolSize must be an integer from 0 to 1000, received -1/,
    );
    assert.throws(
      () => capacityOf({ memoryBudgetMb: 8 }, o),
      /memoryBudgetMb must be at least 16, received 8/,
    );
    assert.throws(
      () => capacityOf({ maxIsolates: 1.5 }, o),
      /maxIsolates must be a positive integer, received 1.5/,
    );
  });
});
