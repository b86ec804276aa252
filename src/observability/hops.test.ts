import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverTiming, timingEntry } from './hops.ts';

describe('Server-Timing, rendered in one place', () => {
  it('renders each hop as name;dur;desc, in order', () => {
    assert.equal(
      serverTiming([
        { name: 'edge', ms: 12.345, desc: 'client to FRA', simulated: true },
        { name: 'worker', ms: 3, desc: 'shop' },
        { name: 'cache', ms: 0.04, desc: 'HIT GET /a.js' },
      ]),
      'edge;dur=12.3;desc="client to FRA, simulated", worker;dur=3.0;desc="shop", cache;dur=0.0;desc="HIT GET /a.js"',
    );
  });
  it('keeps a description inside its quotes', () => {
    assert.equal(timingEntry({ name: 'kv', ms: 1, desc: 'GET "x\\" y' }), 'kv;dur=1.0;desc="GET x y"');
  });
  it('renders nothing for no hops', () => {
    assert.equal(serverTiming([]), '');
  });
});
