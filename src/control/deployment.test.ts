import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSplits, type Deployment, pickSplit, servedAt, stickyRoll } from './deployment.ts';

const base: Deployment = {
  id: 'd1',
  worker: 'w',
  createdAt: '',
  updatedAt: '',
  versions: [{ version: 'new', percentage: 100 }],
  previous: [{ version: 'old', percentage: 100 }],
  waves: [['FRA'], ['LHR', 'CDG'], ['SYD']],
  released: 1,
  status: 'rolling',
  sticky: false,
};

describe('deployments', () => {
  it('serve the new version only in released waves while rolling', () => {
    assert.equal(servedAt(base, 'FRA')[0].version, 'new');
    assert.equal(servedAt(base, 'LHR')[0].version, 'old');
    assert.equal(servedAt({ ...base, released: 2 }, 'CDG')[0].version, 'new');
    assert.equal(servedAt({ ...base, released: 2 }, 'SYD')[0].version, 'old');
    // A PoP in no wave gets it when the rollout completes.
    assert.equal(servedAt(base, 'NRT')[0].version, 'old');
    assert.equal(servedAt({ ...base, status: 'complete' }, 'NRT')[0].version, 'new');
  });

  it('serve the previous version everywhere once rolled back', () => {
    assert.equal(servedAt({ ...base, status: 'rolled_back' }, 'FRA')[0].version, 'old');
  });

  it('a first deployment (nothing before) serves everywhere at once', () => {
    assert.equal(servedAt({ ...base, previous: [] }, 'SYD')[0].version, 'new');
  });

  it('check splits', () => {
    assert.throws(() => checkSplits([]), /one or two/);
    assert.throws(() => checkSplits([{ version: 'a', percentage: 60 }]), /add up to 100/);
    assert.throws(
      () =>
        checkSplits([
          { version: 'a', percentage: 50 },
          { version: 'a', percentage: 50 },
        ]),
      /must differ/,
    );
    assert.throws(() => checkSplits([{ version: 'a', percentage: 100.5 }]), /whole number/);
    assert.doesNotThrow(() =>
      checkSplits([
        { version: 'a', percentage: 10 },
        { version: 'b', percentage: 90 },
      ]),
    );
  });

  it('pick a split by roll, sticky rolls stable and spread', () => {
    const s = [
      { version: 'a', percentage: 10 },
      { version: 'b', percentage: 90 },
    ];
    assert.equal(pickSplit(s, 0), 'a');
    assert.equal(pickSplit(s, 9.99), 'a');
    assert.equal(pickSplit(s, 10), 'b');
    assert.equal(stickyRoll('1.2.3.4'), stickyRoll('1.2.3.4'));
    let a = 0;
    for (let i = 0; i < 10_000; i++) if (pickSplit(s, stickyRoll(`10.0.${i >> 8}.${i & 255}`)) === 'a') a++;
    assert.ok(a > 800 && a < 1200, `sticky keys spread: ${a} of 10000 took the 10% version`);
  });
});
