import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Member } from '../network/index.ts';
import { judge, planWaves } from './waves.ts';

const POPS = ['AMS', 'CDG', 'FRA', 'IAD', 'LHR', 'NRT', 'SFO', 'SYD'];
const known = (id: string) => /^[A-Z]{3}$/.test(id.toUpperCase());

describe('wave plans', () => {
  it('canary, a share, then the rest', () => {
    assert.deepEqual(planWaves('canary;25%;*', POPS, known), [
      ['AMS'],
      ['CDG'],
      ['FRA', 'IAD', 'LHR', 'NRT', 'SFO', 'SYD'],
    ]);
    assert.deepEqual(planWaves('canary;50%;*', POPS, known, 'syd'), [
      ['SYD'],
      ['AMS', 'CDG', 'FRA'],
      ['IAD', 'LHR', 'NRT', 'SFO'],
    ]);
  });
  it('named PoPs, repeats and empty waves dropped', () => {
    assert.deepEqual(planWaves('FRA;fra,LHR;*;*', POPS, known), [
      ['FRA'],
      ['LHR'],
      ['AMS', 'CDG', 'IAD', 'NRT', 'SFO', 'SYD'],
    ]);
  });
  it('refuse what is not a plan', () => {
    assert.throws(() => planWaves('FRA;;*', POPS, known), /empty step/);
    assert.throws(() => planWaves('0%', POPS, known), /not 1% to 100%/);
    assert.throws(() => planWaves('F4A', POPS, known), /not a PoP/);
  });
});

function member(pop: string, version: string | null, health: Member['health'] = {}, failed?: string): Member {
  return {
    id: `${pop}-1`,
    pop,
    url: 'http://x',
    outpost: '0',
    workers: [{ worker: 'w', version, ...(failed ? { failed: { version: failed, error: 'boom' } } : {}) }],
    load: { inflight: 0, isolates: 0 },
    health,
    startedAt: '',
  };
}
const h = (requests: number, errors: number, p99Ms: number, cpuKills = 0) => ({
  requests,
  errors,
  p99Ms,
  cpuKills,
});

describe('wave gates', () => {
  it('wait for nodes to switch, then for traffic', () => {
    assert.equal(judge([member('FRA', 'old')], 'w', 'new', 'old', ['FRA']).pending, 'switch');
    assert.equal(
      judge([member('FRA', 'new', { 'w@new': h(3, 0, 5) })], 'w', 'new', 'old', ['FRA']).pending,
      'traffic',
    );
  });
  it('fail at once when a node could not load the version', () => {
    const v = judge([member('FRA', 'old', {}, 'new')], 'w', 'new', 'old', ['FRA']);
    assert.equal(v.state, 'fail');
    assert.match(v.reason, /could not load it: boom/);
  });
  it('judge against the previous version: errors, p99, CPU kills', () => {
    const base = member('LHR', 'old', { 'w@old': h(1000, 10, 40, 1) });
    const pass = judge([member('FRA', 'new', { 'w@new': h(100, 1, 50) }), base], 'w', 'new', 'old', ['FRA']);
    assert.equal(pass.state, 'pass', pass.reason);
    const errs = judge([member('FRA', 'new', { 'w@new': h(100, 5, 50) }), base], 'w', 'new', 'old', ['FRA']);
    assert.match(errs.reason, /^error rate 5\.0% over 2\.0%/);
    const slow = judge([member('FRA', 'new', { 'w@new': h(100, 0, 400) }), base], 'w', 'new', 'old', ['FRA']);
    assert.match(slow.reason, /^p99 400 ms over 110 ms/);
    const kills = judge([member('FRA', 'new', { 'w@new': h(100, 0, 40, 5) }), base], 'w', 'new', 'old', [
      'FRA',
    ]);
    assert.match(kills.reason, /^CPU-limit kills/);
  });
  it('without a baseline, the absolute error rate', () => {
    assert.equal(
      judge([member('FRA', 'new', { 'w@new': h(100, 1, 9) })], 'w', 'new', null, ['FRA']).state,
      'pass',
    );
    assert.equal(
      judge([member('FRA', 'new', { 'w@new': h(100, 3, 9) })], 'w', 'new', null, ['FRA']).state,
      'fail',
    );
  });
});
