// What a synchronous host call throws reaches tenant code as an error made in the isolate,
// never as the thrown value itself (bridge.ts fromHost): isolated-vm's errors from across the
// boundary carry a `stack` accessor that crashes the process when read through another
// receiver (test/security/boundary-errors.test.ts has the crash itself).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { callSync, host, installBridge } from './bridge.ts';

it('errors thrown by synchronous host calls are made again, typed by their `Name: message`', () => {
  const thrown: unknown[] = [];
  const throwing = (value: unknown) => () => {
    thrown.push(value);
    throw value;
  };
  const foreign = new Error('TypeError: from the host');
  installBridge({
    ivm: {},
    log: () => {},
    urlParse: throwing('RangeError: as text') as never,
    urlSet: throwing(foreign) as never,
    random: throwing({ odd: true }) as never,
    limit: () => {},
    post: () => {},
    sys: throwing('Error: plain') as never,
    cancelBody: () => {},
    abortFetch: () => {},
    settings: { memoryLimitMb: 128, workerName: 'w' },
  });
  const caught = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as Error;
    }
    assert.fail('no throw');
  };
  const a = caught(() => host.urlParse('x', undefined));
  assert.ok(a instanceof RangeError);
  assert.equal(a.message, 'as text');
  const b = caught(() => host.urlSet('x', 'y', 'z'));
  assert.ok(b instanceof TypeError);
  assert.notEqual(b, foreign, 'never the thrown object');
  assert.equal(b.message, 'from the host');
  const c = caught(() => host.random(1));
  assert.ok(c instanceof Error);
  assert.equal(c.message, '[object Object]');
  const d = caught(() => callSync('anything'));
  assert.equal(d.constructor, Error);
  assert.equal(d.message, 'plain');
  assert.equal(thrown.length, 4);
});
