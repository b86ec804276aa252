// The JavaScript versions of Array.prototype's methods (array-generic.ts) against V8's own: for
// every method, argument list and receiver (arrays with holes, array-likes, strings, frozen
// arrays, species subclasses, getters), each wrapped in a Proxy that logs its traps, both must
// give the same result, leave the receiver the same, throw the same kind of error, and make the
// same observable steps in the same order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as generic from './array-generic.ts';
import { logged } from './test-helpers.ts';

type Generic = (self: unknown, args: unknown[]) => unknown;

class Sub extends Array {}

const receivers: Record<string, (log: string[]) => unknown> = {
  // biome-ignore lint/suspicious/noSparseArray: holes are what is tested
  holes: () => [1, , 3, Number.NaN, undefined, 'b', 'a', 0, -0, 'b'],
  empty: () => [],
  // biome-ignore lint/suspicious/noSparseArray: holes are what is tested
  nested: () => [1, [2, [3, [4]]], , 5, []],
  arrayLike: () => ({ length: 5, 0: 'x', 2: 'y', 4: 'z' }),
  stringLength: () => ({ length: '3', 0: 3, 1: 1, 2: 2 }),
  negativeLength: () => ({ length: -4, 0: 'no' }),
  string: () => 'hello',
  frozen: () => Object.freeze([3, 1, 2]),
  sub: () => Sub.from([3, 1, 2, 1]),
  // A species whose arrays log what is done to them (define, not set, for CreateDataProperty).
  species: (log) => {
    // biome-ignore lint/suspicious/noSparseArray: holes are what is tested
    const a: unknown[] = [3, , 1, 2];
    (a as unknown as { constructor: unknown }).constructor = {
      [Symbol.species]: class {
        constructor() {
          // biome-ignore lint/correctness/noConstructorReturn: a species may return any object
          return logged([], log);
        }
      },
    };
    return a;
  },
  getter: () => {
    const a: unknown[] = [1, 2, 3];
    Object.defineProperty(a, 1, { get: () => 'got', enumerable: true, configurable: true });
    return a;
  },
};

const fnArgs = [
  [(v: unknown, i: number) => (typeof v === 'number' ? v + i : `${String(v)}${i}`)],
  [(v: unknown) => typeof v === 'number'],
  [
    function (this: unknown) {
      return this;
    },
    { t: 1 },
  ],
  ['not a function'],
];
const compare = (a: unknown, b: unknown) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0);

const cases: Record<string, unknown[][]> = {
  indexOf: [['b'], [Number.NaN], [3, 2], [1, -100], [undefined], [1, Infinity], [0, -Infinity], ['b', 5.5]],
  lastIndexOf: [['b'], [1, 2], [1, -2], [3, -Infinity], [undefined, 100], []],
  includes: [[Number.NaN], [undefined], ['z', -1], [1, Infinity], ['b', -3]],
  fill: [[0], [7, 1, 3], [7, -2], [7, 1, -1], [7, 'x']],
  copyWithin: [
    [0, 2],
    [1, 0],
    [0, 1, 3],
    [-1, 0],
    [2, 0, 5],
  ],
  forEach: fnArgs,
  map: fnArgs,
  filter: fnArgs,
  some: fnArgs,
  find: fnArgs,
  findIndex: fnArgs,
  findLast: fnArgs,
  findLastIndex: fnArgs,
  every: fnArgs,
  flatMap: [[(v: unknown, i: number) => [v, [i]]], ...fnArgs],
  reduce: [
    [(a: unknown, b: unknown) => `${String(a)}${String(b)}`],
    [(a: unknown, b: unknown) => `${String(a)}${String(b)}`, '>'],
    [],
  ],
  reduceRight: [
    [(a: unknown, b: unknown) => `${String(a)}${String(b)}`],
    [(a: unknown, b: unknown) => `${String(a)}${String(b)}`, '<'],
    [],
  ],
  flat: [[], [0], [Infinity], [2]],
  reverse: [[]],
  slice: [[], [1], [-2], [1, 3], [2, 1], [0, -1]],
  splice: [[], [1], [1, 1], [1, 0, 'a', 'b'], [-2, 5, 'q'], [0, 1, 'x', 'y', 'z']],
  shift: [[]],
  unshift: [[], ['a'], ['a', 'b']],
  sort: [[], [compare], ['bad']],
  toSorted: [[], [compare], ['bad']],
  toSpliced: [[], [1], [1, 1], [1, 0, 'a', 'b'], [-2, 5, 'q']],
  with: [
    [0, 'w'],
    [-1, 'w'],
    [99, 'w'],
  ],
};

/** What a value is, holes and all. */
function snapshot(v: unknown): unknown {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return Object.is(v, -0) ? '-0' : v;
  const o = v as Record<PropertyKey, unknown>;
  return {
    proto: Object.getPrototypeOf(o)?.constructor?.name ?? null,
    array: Array.isArray(o),
    keys: Reflect.ownKeys(o).map((key) => {
      const d = Object.getOwnPropertyDescriptor(o, key)!;
      const value = !('value' in d) ? '(accessor)' : typeof d.value === 'function' ? '(function)' : d.value;
      return [
        String(key),
        typeof value === 'object' && value !== null ? snapshot(value) : Object.is(value, -0) ? '-0' : value,
      ];
    }),
  };
}

function run(call: () => unknown): { ok: unknown } | { threw: string } {
  try {
    return { ok: snapshot(call()) };
  } catch (err) {
    return { threw: (err as Error).constructor.name };
  }
}

describe('Array.prototype in JavaScript (array-generic.ts) behaves as V8 does', () => {
  for (const [method, argLists] of Object.entries(cases)) {
    it(method, () => {
      const native = (Array.prototype as unknown as Record<string, Function>)[method];
      const mine = (generic as unknown as Record<string, Generic>)[method];
      for (const [name, make] of Object.entries(receivers)) {
        for (const args of argLists) {
          for (const proxied of [false, true]) {
            const what = `${proxied ? 'proxy of ' : ''}${name}.${method}(${args.map((a) => (typeof a === 'function' ? 'fn' : String(a))).join(', ')})`;
            const logA: string[] = [];
            const logB: string[] = [];
            let a = make(logA);
            let b = make(logB);
            if (proxied && typeof a === 'object') {
              a = logged(a as object, logA);
              b = logged(b as object, logB);
            }
            const expected = run(() => native.apply(a, args));
            const actual = run(() => mine(b, args));
            assert.deepEqual(actual, expected, `result of ${what}`);
            assert.deepEqual(snapshot(b), snapshot(a), `receiver after ${what}`);
            assert.deepEqual(logB, logA, `steps of ${what}`);
          }
        }
      }
    });
  }

  it('join() and toLocaleString() of a cycle give an empty string where it recurs', () => {
    // Each side's nested joins go through the same implementation, as in the isolate (where
    // toString() reaches the guarded join()).
    const make = (join: (o: unknown) => string) => {
      const o: Record<string, unknown> = { length: 3, 0: 1, 2: 'z' };
      o[1] = o;
      o.toString = o.toLocaleString = function (this: unknown) {
        return join(this);
      };
      return o;
    };
    const native = make((o) => Array.prototype.join.call(o as unknown[]));
    const mine = make((o) => generic.join(o, []));
    assert.equal(generic.join(mine, []), Array.prototype.join.call(native as unknown as unknown[]));
    assert.equal(generic.join(mine, []), '1,,z');
    const nativeL = make((o) => Reflect.apply(Array.prototype.toLocaleString, o, []));
    const mineL = make((o) => generic.toLocaleString(o, []));
    assert.equal(
      generic.toLocaleString(mineL, []),
      Reflect.apply(Array.prototype.toLocaleString, nativeL, []),
    );
  });

  it('Array.from', () => {
    const iterable = (log: string[]) => ({
      [Symbol.iterator]() {
        let i = 0;
        return {
          next: () => {
            log.push(`next ${i}`);
            return i < 3 ? { value: i++, done: false } : { value: undefined, done: true };
          },
          return: () => {
            log.push('return');
            return {};
          },
        };
      },
    });
    const sources: Record<string, (log: string[]) => unknown> = {
      ...receivers,
      iterable,
      set: () => new Set([1, 2, 2, 3]),
      nullish: () => null,
    };
    const argLists: unknown[][] = [
      [],
      [(v: unknown, i: number) => `${String(v)}:${i}`],
      [
        function (this: unknown) {
          return this;
        },
        'this',
      ],
      [
        () => {
          throw new SyntaxError('from the map function');
        },
      ],
      ['not a function'],
    ];
    for (const ctor of [Array, Sub, undefined, { notConstructor: true }]) {
      for (const [name, make] of Object.entries(sources)) {
        for (const rest of argLists) {
          for (const proxied of [false, true]) {
            const what = `${proxied ? 'proxy of ' : ''}${name} from ${String((ctor as Function)?.name)} (${rest.length} arguments)`;
            const logA: string[] = [];
            const logB: string[] = [];
            let a = make(logA);
            let b = make(logB);
            if (proxied && a !== null && typeof a === 'object') {
              a = logged(a as object, logA);
              b = logged(b as object, logB);
            }
            const expected = run(() => Array.from.apply(ctor, [a, ...rest] as never));
            const actual = run(() => generic.from(ctor, [b, ...rest]));
            assert.deepEqual(actual, expected, `result of ${what}`);
            assert.deepEqual(logB, logA, `steps of ${what}`);
          }
        }
      }
    }
  });

  it('an array longer than 2 ** 32 - 1 cannot be made, as ArrayCreate says', () => {
    assert.throws(() => generic.with({ length: 2 ** 32 }, [0, 1]), RangeError);
    assert.throws(() => generic.toSpliced({ length: 2 ** 32 }, [0, 0]), RangeError);
  });
});
