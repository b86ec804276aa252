// Attacks by loops V8 cannot interrupt: Array.prototype's builtins (and Array.from, concat) run
// in C++/CSA loops over `length` with no check for interrupts, so on `{ length: 2 ** 40 }`, an
// array whose length was set to 2 ** 32 - 1, or a Proxy with no traps, TerminateExecution — how
// the CPU limit stops an isolate — never took effect. The request failed at its limit, but the
// isolate's thread spun on for hours, one more per request (found by the bridge fuzzer: its test
// process never exited). The prelude now sends such receivers to the specification's algorithms
// in JavaScript (src/runtime/isolate/array-guard.ts), which the limit stops like any code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  net = await startTenants({ attacker: { fixture: 'wedge', limits: { cpuMs: 50 } }, neighbour: 'wedge' });
});
after(() => net?.close());

/** CPU time of this process (every thread), ms. */
function processCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const ATTACKS = [
  'obj/indexOf?a=1',
  'obj/includes?a=1',
  'obj/lastIndexOf?a=1',
  'obj/fill?a=1',
  'obj/copyWithin?a=0&a=1',
  'obj/splice?a=0&a=1',
  'obj/forEach?a=fn',
  'obj/reduce?a=fn&a=0',
  'obj/reverse',
  // A callback that is itself a builtin: no JavaScript runs per element.
  'obj/find?a=builtin&a={}',
  'obj/findLastIndex?a=builtin&a={}',
  'valueGetter/indexOf?a=1',
  'valueGetter/from',
  'obj/sort',
  'obj/unshift?a=1',
  'obj/join?a=""',
  'obj/flat',
  'sparse/map?a=fn',
  'sparse/slice?a=0',
  'sparse/toSorted',
  'sparse/toReversed',
  'sparse/with?a=0&a=1',
  'proxy/indexOf?a=1',
  'proxy/includes?a=1',
  'proxy/fill?a=1',
  // A Proxy over an array that tells the guard one length and V8 another.
  'proxyArray/fill?a=1',
  'spreadable/concat',
  'concatGetter/concat',
  'arrayLike/from',
  'iteratorGetter/from',
  'arrayIteratorGetter/from',
  // An array whose prototype chain is 10,000 objects long: each lookup walks it.
  'longChain/indexOf?a=1',
  // Lists outside Array.prototype: Intl's locale lists, JSON.stringify's replacer array.
  'list/canonical',
  'list/numberFormat',
  'list/dateTimeFormat',
  'list/supported',
  'list/toLocaleString',
  'list/localeCompare',
  'list/dateString',
  'list/typedArray',
  'list/replacer',
];

describe('loops V8 cannot interrupt', () => {
  it('each is stopped at the CPU limit, and no isolate thread runs on afterwards', async () => {
    const outcomes: string[] = [];
    for (const path of ATTACKS) {
      const res = await net.fetchAs('attacker', `/${path}`, { signal: AbortSignal.timeout(10_000) });
      outcomes.push(`${path}: ${res.status} ${(await res.text()).split('\n')[0]}`);
    }
    for (const o of outcomes) assert.match(o, /: 503 Worker exceeded CPU time limit/, o);
    // A thread left spinning costs a whole core: over a quiet second this process would use as
    // much CPU time as wall time (it used 100% before; about 1% now).
    await new Promise((r) => setTimeout(r, 500));
    const before = processCpuMs();
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 1_000));
    const share = (processCpuMs() - before) / (performance.now() - t);
    assert.ok(share < 0.5, `the process used ${(share * 100).toFixed(0)}% of a core while idle`);
  });

  it('the attacker and its neighbour answer afterwards', async () => {
    const res = await net.fetchAs('attacker', '/');
    assert.equal(await res.text(), 'ok');
    const t = performance.now();
    const n = await net.fetchAs('neighbour', '/');
    assert.equal(await n.text(), 'ok');
    assert.ok(performance.now() - t < 2_000);
  });

  it('a Proxy that lies about its length is read once, as the specification says', async () => {
    const res = await net.fetchAs('neighbour', '/proxyArray/indexOf?a=9');
    assert.equal(await res.text(), 'proxyArray.indexOf: -1');
  });

  it("the stand-in for Proxy looks and behaves as V8's own", async () => {
    const res = await net.fetchAs('neighbour', '/proxy-api');
    assert.deepEqual(await res.json(), {
      typeof: 'function',
      name: 'Proxy',
      length: 2,
      hasPrototype: false,
      callWithoutNew: 'TypeError',
      badTarget: 'TypeError',
      trap: 'trapped x',
      revocable: [1, 'TypeError'],
      subclass: 'TypeError',
      // A trap added to Object.prototype is not taken from the stand-in's handler.
      objectPrototypeTrap: 'TypeError',
    });
  });

  it('the guarded methods keep their names, lengths and results', async () => {
    const res = await net.fetchAs('neighbour', '/methods');
    assert.deepEqual(await res.json(), {
      shapes: [
        ['map', 'map', 1, false],
        ['indexOf', 'indexOf', 1, false],
        ['concat', 'concat', 1, false],
        ['join', 'join', 1, false],
        ['flat', 'flat', 0, false],
        ['toReversed', 'toReversed', 0, false],
      ],
      from: ['from', 1],
      enumerable: [],
      results: [[1, 2, 3], [1, 2, 3], [0, 2, 4], [1, 2], ['A', 'B'], [1, 2, 3, 4], '1-2-', 2],
      notConstructor: 'TypeError',
    });
  });

  it('locale lists and replacer arrays keep their meaning', async () => {
    const res = await net.fetchAs('neighbour', '/lists');
    assert.deepEqual(await res.json(), {
      replacer: '{"b":2,"a":1,"1":3}',
      replacerLength: 3,
      canonical: ['en-US', 'de'],
      single: ['en-GB'],
      string: ['fr'],
      format: '1.234,5',
      callable: '1',
      number: '1.234,5',
      compare: -1,
      supported: ['en', 'de'],
      badTag: 'RangeError',
      badType: 'TypeError',
      // Outpost's bound: V8 canonicalizes each in ICU, where it cannot be stopped.
      tooMany: 'RangeError',
    });
  });
});
