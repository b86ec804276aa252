import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { memoryObserver } from '../observability/index.ts';
import { capacityOf, isolatesThatFit, mappingsOf } from './capacity.ts';

describe("a runtime's capacity", () => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-capacity-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mapCount = (text: string) => {
    const p = join(dir, `max_map_count-${text.length}-${Math.random()}`);
    writeFileSync(p, text);
    return p;
  };

  it('fits isolates in vm.max_map_count at 14 mappings each, after a reserve for the process', () => {
    assert.deepEqual(isolatesThatFit(mapCount('65530\n')), { fit: 4388, maxMapCount: 65530, budget: 61434 });
    assert.deepEqual(isolatesThatFit(mapCount('262144\n')), {
      fit: 18432,
      maxMapCount: 262144,
      budget: 258048,
    });
    assert.equal(isolatesThatFit(join(dir, 'none')), undefined, 'unknown where there is no such file');
    assert.equal(isolatesThatFit(mapCount('lots')), undefined);
  });

  it('holds maxIsolates below what the process can map, and says so when asked for more', () => {
    const observer = memoryObserver();
    const limited = mapCount('65530');
    // 4388 fit; the warm pool may hold 64 of them after bursts (poolMax's default).
    assert.equal(capacityOf({ maxIsolates: 10_000 }, observer, limited).maxIsolates, 4324);
    assert.match(
      observer.entries.map((l) => l.message).join('\n'),
      /maxIsolates 10000 is more than one process can map: vm\.max_map_count 65530 allows about 4324 isolates.*Raise vm\.max_map_count/,
    );
    const quiet = memoryObserver();
    assert.equal(capacityOf({}, quiet, limited).maxIsolates, 4324, 'the default too, silently');
    const small = capacityOf({ poolMax: 4 }, quiet, limited);
    assert.equal(small.maxIsolates, 4384, 'a smaller pool leaves more');
    assert.equal(small.mapBudget, 65530 - 4096 - 4 * 14, "the pool's mappings come off the budget");
    assert.equal(
      capacityOf({ poolSize: 8, poolMax: 0 }, quiet, limited).poolMax,
      8,
      'below poolSize: no growth',
    );
    assert.equal(capacityOf({ poolSize: 0 }, quiet, limited).poolMax, 0, 'no pool: none grows');
    assert.equal(capacityOf({ maxIsolates: 100 }, quiet, limited).maxIsolates, 100);
    assert.equal(quiet.entries.length, 0);
  });

  it("counts an isolate's mappings from its heap, at or above what was measured", () => {
    const mb = 1024 * 1024;
    // Measured: 7 mappings at 1.8 MB of heap, 13.1 at 2.67 MB, 21 at 4.4 MB, 45 at 11.4 MB.
    for (const [heap, measured] of [
      [1.8, 7],
      [2.67, 13.1],
      [4.4, 21],
      [11.4, 45],
    ] as const)
      assert.ok(mappingsOf(heap * mb) >= measured, `${heap} MB: ${mappingsOf(heap * mb)} >= ${measured}`);
    assert.equal(mappingsOf(0), mappingsOf(2.75 * mb), 'not measured yet: as a hello-world tenant');
  });

  it('refuses options out of range, naming them', () => {
    const o = memoryObserver();
    assert.throws(
      () => capacityOf({ poolSize: -1 }, o),
      /poolSize must be an integer from 0 to 1000, received -1/,
    );
    assert.throws(
      () => capacityOf({ poolMax: 2.5 }, o),
      /poolMax must be an integer from 0 to 1000, received 2.5/,
    );
    assert.throws(
      () => capacityOf({ poolMax: -1 }, o),
      /poolMax must be an integer from 0 to 1000, received -1/,
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
