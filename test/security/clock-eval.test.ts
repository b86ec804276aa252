// Fidelity that is also defence (issue 14): inside a request the clock stands still while code
// runs (a timing side channel needs a clock that moves during computation) and moves on with
// I/O; `eval` and the Function constructors are refused after startup, as on Workers, and the
// unsafe_eval binding is the one way around it: present only when declared, and what it
// evaluates runs in the isolate like any tenant code (no host object, the guard still holds).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  // `evaluator` declares the unsafe_eval binding (test/fixtures/eval); `probe` does not.
  net = await startTenants({ probe: 'clock-eval', evaluator: 'eval' });
});
after(() => net.close());

const json = async (path: string) => {
  const res = await net.fetchAs('probe', path);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, any>;
};

describe('the clock', () => {
  it('stands still while code runs, and moves on with I/O (timers)', async () => {
    const t = await json('/clock');
    assert.equal(t.d1, t.d0, 'Date.now() moved during computation');
    assert.equal(t.p1, t.p0, 'performance.now() moved during computation');
    assert.equal(t.n0, t.d0);
    assert.equal(t.n1, t.d0);
    // Millisecond clocks, and host timers may fire up to a millisecond early by Date.now().
    assert.ok(t.d2 >= t.d0 + 19, `after a 20 ms wait the clock moved ${t.d2 - t.d0} ms`);
    assert.ok(t.d3 >= t.d2 + 4, `after a 5 ms timer the clock moved ${t.d3 - t.d2} ms`);
    assert.ok(Math.abs(t.d3 - Date.now()) < 5_000, 'the clock is the real time');
  });
  it('Date keeps its behaviour: called as a function, statics, subclasses, instanceof', async () => {
    assert.deepEqual(await json('/date'), {
      string: 'string',
      parsed: 1577836800000,
      utc: 1577836800000,
      fixed: '1970-01-02T00:00:00.000Z',
      subclass: true,
      instance: true,
      ctor: true,
      length: 7,
    });
  });
});

describe('code from strings', () => {
  it('works at the top level and is refused in a request, however the constructor is reached', async () => {
    const e = await json('/eval');
    assert.equal(e.atStartup, 42);
    assert.equal(e.made, 2);
    for (const key of [
      'eval',
      'indirect',
      'captured',
      'fn',
      'fnCall',
      'captuedFn',
      'viaProto',
      'async',
      'generator',
      'asyncGenerator',
    ]) {
      assert.equal(e[key].ok, false, `${key} was allowed: ${JSON.stringify(e[key])}`);
      assert.equal(e[key].name, 'EvalError', key);
      assert.equal(e[key].message, 'Code generation from strings disallowed for this context', key);
    }
    assert.deepEqual(e.evalNonString, { ok: true, value: '5' });
    assert.equal(e.instance, true);
    assert.equal(e.functionName, 'Function');
  });
});

describe('the unsafe_eval binding', () => {
  const evaluate = async (code: string) => {
    const snippet = `return async function (input, env) { ${code} }`;
    const res = await net.fetchAs('evaluator', '/', {
      method: 'POST',
      body: JSON.stringify({ code: snippet }),
    });
    return (await res.json()) as { ok: boolean; result?: unknown; error?: { message: string } };
  };
  it('evaluates in the isolate, which holds nothing of the host', async () => {
    const r = await evaluate(`
      const E = env.UNSAFE_EVAL;
      const reach = (f) => { try { return String(f()); } catch (e) { return 'threw ' + e.name; } };
      return [
        // nodejs_compat's process is the runtime's stand-in (as in workerd), not Node's.
        E.eval('typeof require + typeof module + typeof process.binding + typeof process.dlopen'),
        reach(() => E.newFunction('return this')().constructor.constructor('return typeof process')()),
        reach(() => E.eval('(function(){ return this })()').constructor.name),
        E.newFunction('return a + b', 'add', 'a', 'b')(1, 2),
      ];`);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.result, ['undefinedundefinedundefinedundefined', 'threw EvalError', 'Object', 3]);
  });
  it('is absent unless the config declares it', async () => {
    const e = (await (await net.fetchAs('probe', '/eval')).json()) as Record<string, any>;
    assert.equal(e.fn.name, 'EvalError');
  });
});
