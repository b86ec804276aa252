// The prelude's async-function helper: esbuild's contract (resolve, reject, await in order,
// `this` and arguments), and nothing it runs on read from a global that tenant code can replace.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { __async, allSettledInFrame, raceInFrame, rejectedIntrinsic } from './async.ts';

// What esbuild lowers `async function (a) { … }` to, written by hand.
function lowered<A extends unknown[], T>(body: (this: any, ...a: A) => Generator<unknown, T, unknown>) {
  return function (this: unknown, ...args: A): Promise<T> {
    return __async(this, args, body as (...a: unknown[]) => Generator<unknown, T, unknown>);
  };
}

it('resolves, rejects, awaits values, promises and thenables, with its receiver and arguments', async () => {
  const add = lowered(function* (this: { base: number }, a: number) {
    const b = (yield a) as number;
    const c = (yield Promise.resolve(b + 1)) as number;
    // biome-ignore lint/suspicious/noThenProperty: a thenable is what this awaits
    const d = (yield { then: (ok: (v: number) => void) => ok(c * 2) }) as number;
    return this.base + d;
  });
  assert.equal(await add.call({ base: 100 }, 1), 104);
  const fails = lowered(function* () {
    yield null;
    throw new TypeError('nope');
  });
  await assert.rejects(fails(), { name: 'TypeError', message: 'nope' });
  const caught = lowered(function* () {
    try {
      yield Promise.reject(new Error('inner'));
    } catch (e) {
      return `caught ${(e as Error).message}`;
    }
  });
  assert.equal(await caught(), 'caught inner');
  // A returned promise is followed, and a body without arguments (esbuild passes null) runs.
  assert.equal(
    // biome-ignore lint/correctness/useYield: a body with no await
    await __async(null, null, function* () {
      return Promise.resolve(7);
    }),
    7,
  );
});

it("keeps esbuild's order: each await takes the ticks a native one does", async () => {
  const seen: string[] = [];
  const a = lowered(function* () {
    seen.push('a1');
    yield undefined;
    seen.push('a2');
    yield undefined;
    seen.push('a3');
  });
  const b = lowered(function* () {
    seen.push('b1');
    yield undefined;
    seen.push('b2');
  });
  await Promise.all([a(), b()]);
  assert.deepEqual(seen, ['a1', 'b1', 'a2', 'b2', 'a3']);
});

it('calls nothing tenant code replaced: then, resolve, apply, call, the generator methods', async () => {
  const realThen = Promise.prototype.then;
  const realResolve = Promise.resolve;
  const realReject = Promise.reject;
  const realRace = Promise.race;
  const realApply = Function.prototype.apply;
  const realCall = Function.prototype.call;
  const generator = Object.getPrototypeOf(function* () {}.prototype);
  const realNext = generator.next;
  const realThrow = generator.throw;
  const calls: string[] = [];
  // Node's own code calls some of these too (its streams emit with apply): count only calls
  // handed the helper's generators or closures (its source, or context.ts's frame reactions).
  const sourceOf = Function.prototype.toString;
  const tagOf = Object.prototype.toString;
  const helperCode = /generatorNext|generatorThrow|resumeNext|resumeThrow|use\(frame\)|--left/;
  let inSpy = false;
  const reachesHelper = (self: unknown, args: unknown[]) => {
    if (Reflect.apply(tagOf, self, []) === '[object Generator]') return true;
    for (const v of [self, ...args])
      if (typeof v === 'function' && helperCode.test(Reflect.apply(sourceOf, v, []))) return true;
    return false;
  };
  const spy = (name: string, real: (...a: any[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      if (!inSpy) {
        inSpy = true;
        try {
          if (reachesHelper(this, args)) calls.push(name);
        } finally {
          inSpy = false;
        }
      }
      return Reflect.apply(real, this, args);
    };
  const start = Promise.resolve(41);
  const settled = [Promise.resolve(1), Promise.reject(new Error('x'))];
  const run = lowered(function* () {
    const a = (yield start) as number;
    try {
      yield rejectedIntrinsic(new Error('no'));
    } catch {}
    const b = (yield raceInFrame([new Promise((r) => setTimeout(() => r(1), 5)), a])) as number;
    yield allSettledInFrame(settled);
    return b + 1;
  });
  let pending: Promise<number>;
  // biome-ignore lint/suspicious/noThenProperty: replacing it is the attack
  Promise.prototype.then = spy('then', realThen) as typeof realThen;
  Promise.resolve = spy('resolve', realResolve) as typeof realResolve;
  Promise.reject = spy('reject', realReject) as typeof realReject;
  Promise.race = spy('race', realRace) as typeof realRace;
  Function.prototype.apply = spy('apply', realApply) as typeof realApply;
  Function.prototype.call = spy('call', realCall) as typeof realCall;
  generator.next = spy('next', realNext);
  generator.throw = spy('throw', realThrow);
  try {
    pending = run();
    // Let it run to the end while the spies are in place (its last await is on a timer).
    await new Promise((r) => setTimeout(r, 30));
  } finally {
    // biome-ignore lint/suspicious/noThenProperty: restoring the original
    Promise.prototype.then = realThen;
    Promise.resolve = realResolve;
    Promise.reject = realReject;
    Promise.race = realRace;
    Function.prototype.apply = realApply;
    Function.prototype.call = realCall;
    generator.next = realNext;
    generator.throw = realThrow;
  }
  assert.deepEqual(calls, []);
  assert.equal(await pending!, 42);
});
