// The depth check the prelude makes before a value leaves the isolate (depth.ts): what it
// refuses, what it lets through untouched, and that tenant-shaped values cannot fool or hang it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { checkDepth, MAX_DEPTH } from './depth.ts';

const nested = (levels: number, wrap: (v: unknown) => unknown) => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = wrap(v);
  return v;
};
const refused = (v: unknown) => {
  try {
    checkDepth(v, 'The value');
    return false;
  } catch (err) {
    assert.ok(err instanceof RangeError);
    assert.match((err as Error).message, /^The value nests more than 1000 levels deep/);
    return true;
  }
};

it('refuses arrays, objects, Maps, Sets and error causes nested past the limit, at any mix', () => {
  const wraps: Record<string, (v: unknown) => unknown> = {
    array: (v) => [v],
    object: (v) => ({ a: v }),
    map: (v) => new Map([['k', v]]),
    'map key': (v) => new Map([[v, 1]]),
    set: (v) => new Set([v]),
    cause: (v) => new Error('e', { cause: v }),
    // Named properties of an array are copied with it.
    'array property': (v) => Object.assign([], { x: v }),
    'array property, elements too': (v) => Object.assign([1, new ArrayBuffer(4)], { x: v }),
    // A non-enumerable element must not hide a named property from the check.
    'array property beside a hidden element': (v) => {
      const a: unknown[] = [1];
      Object.defineProperty(a, 0, { value: 1, enumerable: false });
      return Object.assign(a, { x: v });
    },
    // Bytes are a leaf; what sits beside them is not.
    'beside bytes': (v) => [new ArrayBuffer(8), v],
    // A Map is walked whatever its prototype says it is.
    'map posing as bytes': (v) => Object.setPrototypeOf(new Map([['k', v]]), ArrayBuffer.prototype),
  };
  for (const [name, wrap] of Object.entries(wraps)) {
    assert.equal(refused(nested(MAX_DEPTH, wrap)), false, `${name} at the limit`);
    assert.equal(refused(nested(MAX_DEPTH + 1, wrap)), true, `${name} past the limit`);
  }
  // Three containers a level: 333 levels are 999 containers, 334 are 1002.
  const mixed = (v: unknown) => [{ x: new Map([[1, v]]) }];
  assert.equal(refused(nested(333, mixed)), false);
  assert.equal(refused(nested(334, mixed)), true);
  // Deep inside a wide value (past the quick pass's bounds) is still found.
  const wide: unknown[] = Array.from({ length: 1000 }, (_, i) => ({ i }));
  wide.push(nested(MAX_DEPTH + 5, (v) => ({ v })));
  assert.equal(refused(wide), true);
});

it('finds depth through Map and Set subclasses, and past parts whose walk throws', () => {
  class Lru extends Map<unknown, unknown> {}
  class Tags extends Set<unknown> {}
  assert.equal(refused(nested(MAX_DEPTH + 1, (v) => new Lru([['k', v]]))), true);
  assert.equal(refused(nested(MAX_DEPTH + 1, (v) => new Tags([v]))), true);
  // Map.prototype.forEach throws on an object that only inherits from Map.prototype: that
  // object is skipped, the rest of the value is still walked.
  const fake = Object.create(Map.prototype);
  assert.equal(refused([fake, nested(MAX_DEPTH + 1, (v) => [v])]), true);
  // A throwing getter on the prototype where an array has a hole: the copy never reads it.
  const saved = Object.getOwnPropertyDescriptor(Array.prototype, '0');
  Object.defineProperty(Array.prototype, '0', {
    configurable: true,
    get() {
      throw new Error('tenant getter');
    },
  });
  try {
    const holey: unknown[] = [];
    holey.length = 3;
    holey[2] = nested(MAX_DEPTH + 1, (v) => ({ v }));
    assert.equal(refused(holey), true);
  } finally {
    if (saved) Object.defineProperty(Array.prototype, '0', saved);
    else delete (Array.prototype as unknown as Record<string, unknown>)['0'];
  }
});

it('walks a large dense array by index: two million numbers pass, a deep element among them does not', () => {
  const big = new Array(2_000_000).fill(1);
  checkDepth(big, 'v');
  const withDeep = new Array(1_000_000).fill(1);
  withDeep[999_999] = nested(MAX_DEPTH + 1, (v) => [v]);
  assert.equal(refused(withDeep), true);
});

it('lets through primitives, bytes, cycles and shared parts without walking them again', () => {
  for (const v of [undefined, null, 1, 'x', 2n, new Uint8Array(1 << 20), new ArrayBuffer(8)])
    checkDepth(v, 'v');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  cyclic.list = [cyclic, cyclic];
  checkDepth(cyclic, 'v');
  // 2^60 paths through 60 levels of shared pairs: walked once each, not per path.
  let shared: unknown = 1;
  for (let i = 0; i < 60; i++) shared = [shared, shared];
  const t = performance.now();
  checkDepth(shared, 'v');
  assert.ok(performance.now() - t < 1000);
  // Four billion holes: only what is there is looked at.
  const sparse: unknown[] = [];
  sparse.length = 2 ** 32 - 2;
  sparse[7] = { a: 1 };
  checkDepth([sparse], 'v');
});

it('calls no getter, and leaves Proxies and throwing traps to the copy', () => {
  let calls = 0;
  const withGetter = {
    get deep() {
      calls++;
      return nested(MAX_DEPTH + 10, (v) => [v]);
    },
  };
  checkDepth([withGetter], 'v');
  assert.equal(calls, 0);
  const hostile = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('trap');
      },
    },
  );
  checkDepth([hostile], 'v');
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  checkDepth({ p: proxy }, 'v');
});

it('keeps working when tenant code replaces the intrinsics it would use', () => {
  const saved = {
    keys: Object.keys,
    has: WeakSet.prototype.has,
    add: WeakSet.prototype.add,
    forEach: Map.prototype.forEach,
    isArray: Array.isArray,
  };
  try {
    Object.keys = () => [];
    WeakSet.prototype.has = () => true;
    WeakSet.prototype.add = () => {
      throw new Error('replaced');
    };
    Map.prototype.forEach = () => {};
    Array.isArray = ((_: unknown) => false) as typeof Array.isArray;
    assert.equal(refused(nested(MAX_DEPTH + 1, (v) => ({ a: v }))), true);
    assert.equal(refused(nested(MAX_DEPTH + 1, (v) => new Map([[1, v]]))), true);
  } finally {
    Object.keys = saved.keys;
    WeakSet.prototype.has = saved.has;
    WeakSet.prototype.add = saved.add;
    Map.prototype.forEach = saved.forEach;
    Array.isArray = saved.isArray;
  }
});

it('tests for Map and Set slots without stack traces, and leaves Error.stackTraceLimit as it found it', () => {
  const value = [{ a: new Uint8Array(2).buffer }, new (class Point {})(), new Map([[1, [2]]])];
  const before = Error.stackTraceLimit;
  Error.stackTraceLimit = 37;
  try {
    checkDepth(value, 'v');
    assert.equal(Error.stackTraceLimit, 37);
  } finally {
    Error.stackTraceLimit = before;
  }
  // A stackTraceLimit made an accessor by tenant code is never called (it could run mid-walk).
  const own = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit') as PropertyDescriptor;
  let calls = 0;
  Object.defineProperty(Error, 'stackTraceLimit', {
    configurable: true,
    get: () => {
      calls++;
      return 10;
    },
    set: () => {
      calls++;
    },
  });
  try {
    checkDepth(value, 'v');
    assert.equal(refused(nested(MAX_DEPTH + 1, (v) => new Map([['k', v]]))), true);
  } finally {
    Object.defineProperty(Error, 'stackTraceLimit', own);
  }
  assert.equal(calls, 0);
});
