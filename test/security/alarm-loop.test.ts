// An alarm() that re-arms itself at once (issue 14 item 12) ran back to back and kept a core
// busy. Runs of one object's alarm are now spaced (src/durable-objects/alarms.ts, ALARM_MIN_GAP_MS):
// the loop still runs, as alarms fire "at or after" their time, but a few times a second, and a
// neighbour object answers meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALARM_MIN_GAP_MS } from '../../src/durable-objects/index.ts';
import { startDurableFixture } from '../helpers.ts';

let fixture: Awaited<ReturnType<typeof startDurableFixture>>;
before(async () => {
  fixture = await startDurableFixture();
});
after(() => fixture.close());
const rpc = (name: string, method: string, ...args: unknown[]) => fixture.rpc(name, method, ...args);

describe('an alarm that re-arms itself at once', () => {
  it('runs a few times a second, not back to back, and a neighbour answers meanwhile', async () => {
    await rpc('looper', 'kv', 'put', 'rearm', true);
    await rpc('looper', 'armAlarm', 0);
    const start = Date.now();
    const probe: number[] = [];
    while (Date.now() - start < 1000) {
      const t = performance.now();
      const r = await rpc('neighbour', 'kv', 'get', 'nothing');
      probe.push(performance.now() - t);
      assert.equal(r.error, undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = Date.now() - start;
    await rpc('looper', 'kv', 'put', 'rearm', false);
    const fired = (await rpc('looper', 'kv', 'get', 'alarms')).result as number;
    const most = Math.ceil(elapsed / ALARM_MIN_GAP_MS) + 2;
    assert.ok(fired >= 2, `the alarm still loops (${fired} runs)`);
    assert.ok(fired <= most, `${fired} runs in ${elapsed} ms; at most ${most} expected`);
    probe.sort((a, b) => a - b);
    const p50 = probe[Math.floor(probe.length / 2)];
    assert.ok(p50 < 100, `neighbour p50 ${p50.toFixed(1)} ms`);
  });
});
