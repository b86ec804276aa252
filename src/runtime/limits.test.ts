import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS, resolveLimits } from './limits.ts';

describe('resolveLimits', () => {
  it('defaults to the Workers standard limits', () => {
    assert.deepEqual(resolveLimits(), DEFAULT_LIMITS);
    assert.equal(DEFAULT_LIMITS.memoryMb, 128);
    assert.equal(DEFAULT_LIMITS.cpuMs, 50);
  });
  it('applies overrides and ignores undefined ones', () => {
    assert.equal(resolveLimits({ cpuMs: 10, wallMs: undefined }).cpuMs, 10);
    assert.equal(resolveLimits({ wallMs: undefined }).wallMs, DEFAULT_LIMITS.wallMs);
  });
  it('names the option and the value when one is out of range or unknown', () => {
    assert.throws(
      () => resolveLimits({ memoryMb: 4 }),
      /limits\.memoryMb must be a number from 8 to 4096, received 4/,
    );
    assert.throws(() => resolveLimits({ cpuMs: Number.NaN }), /limits\.cpuMs must be a number/);
    assert.throws(() => resolveLimits({ bogus: 1 } as never), /limits\.bogus is not a known limit/);
  });
});
