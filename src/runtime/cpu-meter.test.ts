import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setLoadSource } from './contention.ts';
import { type Charged, CpuMeter, cpuTimeOf } from './cpu-meter.ts';

/** An isolate whose CPU clock the test moves, and the memory it shares (`running`). */
function fixture() {
  const isolate = { cpuTime: 0n, isDisposed: false };
  const running = { id: new Float64Array(1), switches: new Int32Array(1) };
  const meter = new CpuMeter(isolate, running);
  const to = new Map<number, Charged>([
    [1, { cpuUsed: 0n }],
    [2, { cpuUsed: 0n }],
  ]);
  /** The isolate ran `ns` more, and says invocation `id` runs now after `switches` switches. */
  const step = (ns: bigint, id: number, switches: number) => {
    isolate.cpuTime += ns;
    running.id[0] = id;
    running.switches[0] = switches;
    meter.share(to);
  };
  const used = () => [...to.values()].map((c) => c.cpuUsed);
  return { step, used, to, meter };
}

describe('the CPU meter: who is charged for an interval', () => {
  // Uncontended: readings are charged as they are (contention.test.ts covers the weighing).
  before(() => setLoadSource(() => '0.00 0.00 0.00 1/100 1'));
  after(() => setLoadSource(null));

  it('charges an interval to the one invocation that ran alone through it', () => {
    const { step, used } = fixture();
    step(10n, 1, 5); // the first reading: nothing is known of before it
    assert.deepEqual(used(), [5n, 5n]);
    step(100n, 1, 5); // 1 at both ends, no switch between: 1's alone
    step(100n, 1, 5);
    assert.deepEqual(used(), [205n, 5n]);
  });

  it('a credit that arrives after a share took part of its time credits only the rest', () => {
    const isolate = { cpuTime: 0n, isDisposed: false };
    const meter = new CpuMeter(isolate);
    const a = { cpuUsed: 0n };
    const to = new Map([[1, a]]);
    meter.share(to);
    const since = meter.clock(); // a cache begins to be made
    isolate.cpuTime += 100n;
    meter.share(to); // a share reads 100 of it (charged: it cannot tell)
    isolate.cpuTime += 30n; // 30 more of it, not read yet
    meter.credit(130n, since); // it took 130 in all: 100 were dealt with at that share
    meter.share(to);
    assert.equal(a.cpuUsed, 100n, 'the 30 not yet read are given back, no more');
    isolate.cpuTime += 50n;
    meter.share(to);
    assert.equal(a.cpuUsed, 150n, 'later work is charged in full');
  });

  it('shares an interval equally when another invocation ran in it', () => {
    const { step, used } = fixture();
    step(0n, 1, 5);
    step(100n, 1, 7); // 1 at both ends, but 2 ran between (two switches)
    assert.deepEqual(used(), [50n, 50n]);
  });

  it('shares an interval that began or ended outside any invocation', () => {
    const { step, used } = fixture();
    step(0n, 0, 0);
    step(100n, 1, 1);
    step(100n, 0, 1);
    step(100n, 0, 1);
    assert.deepEqual(used(), [150n, 150n]);
  });

  it('shares an interval whose invocation is not among those charged', () => {
    const { step, used } = fixture();
    step(0n, 3, 1);
    step(100n, 3, 1);
    assert.deepEqual(used(), [50n, 50n]);
  });

  it('shares host work charged to the clock, even in an interval one invocation ran alone', () => {
    const { step, used, meter } = fixture();
    step(0n, 1, 1);
    meter.chargeOutside(80n); // e.g. a waitUntil's crypto, done on a host thread
    step(20n, 1, 1);
    assert.deepEqual(used(), [60n, 40n]);
  });

  it('knows invocations by ids past 2 ** 31 (a long-lived process)', () => {
    const isolate = { cpuTime: 0n, isDisposed: false };
    const running = { id: new Float64Array(1), switches: new Int32Array(1) };
    const meter = new CpuMeter(isolate, running);
    const big = 2 ** 32 + 7;
    const to = new Map<number, Charged>([
      [big, { cpuUsed: 0n }],
      [2, { cpuUsed: 0n }],
    ]);
    running.id[0] = big;
    meter.share(to);
    isolate.cpuTime += 100n;
    meter.share(to);
    assert.deepEqual(
      [...to.values()].map((c) => c.cpuUsed),
      [100n, 0n],
    );
  });

  it('without shared memory, shares every interval (the meter as it was)', () => {
    const isolate = { cpuTime: 0n, isDisposed: false };
    const meter = new CpuMeter(isolate);
    const to = new Map<number, Charged>([
      [1, { cpuUsed: 0n }],
      [2, { cpuUsed: 0n }],
    ]);
    for (let i = 0; i < 3; i++) {
      isolate.cpuTime += 100n;
      meter.share(to);
    }
    assert.deepEqual(
      [...to.values()].map((c) => c.cpuUsed),
      [150n, 150n],
    );
  });
});

describe('reading the clock of an isolate that is going', () => {
  // isolated-vm disposes an isolate past its memory limit from the isolate's own thread, so
  // isDisposed can still say false when cpuTime already throws.
  const going = (reads: bigint[]) => {
    let n = 0;
    return {
      isDisposed: false,
      get cpuTime(): bigint {
        if (n < reads.length) return reads[n++] as bigint;
        throw new Error('Isolate is disposed');
      },
    };
  };

  it('cpuTimeOf answers undefined instead of throwing', () => {
    assert.equal(cpuTimeOf(going([])), undefined);
    assert.equal(cpuTimeOf({ isDisposed: true, cpuTime: 5n }), undefined);
    assert.equal(cpuTimeOf({ isDisposed: false, cpuTime: 5n }), 5n);
  });

  it("the meter's clock stops at the last reading; sharing and idle checks go on without throwing", () => {
    const meter = new CpuMeter(going([100n]));
    assert.equal(meter.clock(), 100n);
    meter.chargeOutside(7n);
    assert.equal(meter.clock(), 107n);
    const to = new Map<number, Charged>([[1, { cpuUsed: 0n }]]);
    meter.share(to);
    meter.idle(0.5);
    assert.equal(meter.idle(0.5)?.used, 0n);
  });
});
