import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { casCheckedOnApply } from './cluster.ts';

describe('casCheckedOnApply: nats-server versions whose replicated streams check a compare-and-set when applying it', () => {
  it('is false before 2.9.21 (nats-io/nats-server#4320), true from it on', () => {
    for (const v of ['2.9.10', 'v2.9.10', '2.9.20', '2.8.4', '1.4.0'])
      assert.equal(casCheckedOnApply(v), false, v);
    for (const v of ['2.9.21', '2.10.0', '2.11.3', '3.0.0']) assert.equal(casCheckedOnApply(v), true, v);
  });
  it('takes a version it cannot read as checked (no warning on a guess)', () => {
    assert.equal(casCheckedOnApply(''), true);
    assert.equal(casCheckedOnApply('nightly'), true);
  });
});
