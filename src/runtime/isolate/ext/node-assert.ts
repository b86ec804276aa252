/**
 * node:assert (nodejs_compat), hand-written: the module is the `assert` function itself (as in
 * Node, so `import assert from 'node:assert'` and `assert(x)` work) with ok, equal, notEqual,
 * strictEqual, notStrictEqual, deepEqual, notDeepEqual, deepStrictEqual, notDeepStrictEqual,
 * throws, doesNotThrow, rejects, doesNotReject, match, doesNotMatch, fail, ifError,
 * AssertionError and `strict` (also `node:assert/strict`).
 *
 * Written as a CommonJS script (no import/export) so the extension's exports are the function.
 * Not here: CallTracker, Node's colored diffs (messages show both values instead), and the
 * source text of the failing expression in `assert.ok`'s message.
 */
declare const module: { exports: unknown };

{
  type Fn = (...args: any[]) => any;

  const show = (v: unknown): string => {
    if (typeof v === 'string') return `'${v.length > 512 ? `${v.slice(0, 512)}…` : v}'`;
    const s = outpost.format([v]);
    return s.length > 2048 ? `${s.slice(0, 2048)}…` : s;
  };

  class AssertionError extends Error {
    actual: unknown;
    expected: unknown;
    operator: string;
    generatedMessage: boolean;
    code = 'ERR_ASSERTION';
    constructor(options: { message?: unknown; actual?: unknown; expected?: unknown; operator?: string }) {
      if (options === null || typeof options !== 'object') {
        const e = new TypeError(
          `The "options" argument must be of type object. Received ${options === null ? 'null' : typeof options}`,
        ) as TypeError & { code: string };
        e.code = 'ERR_INVALID_ARG_TYPE';
        throw e;
      }
      const generated = options.message === undefined || options.message === null;
      super(generated ? defaultMessage(options) : String(options.message));
      this.name = 'AssertionError';
      this.actual = options.actual;
      this.expected = options.expected;
      this.operator = options.operator ?? '';
      this.generatedMessage = generated;
    }
    toString(): string {
      return `${this.name} [${this.code}]: ${this.message}`;
    }
  }

  function defaultMessage(o: { actual?: unknown; expected?: unknown; operator?: string }): string {
    const a = show(o.actual);
    const e = show(o.expected);
    switch (o.operator) {
      case 'strictEqual':
        return `Expected values to be strictly equal:\n\n${a} !== ${e}\n`;
      case 'deepStrictEqual':
        return `Expected values to be strictly deep-equal:\n+ actual - expected\n\n+ ${a}\n- ${e}\n`;
      case 'deepEqual':
        return `Expected values to be loosely deep-equal:\n\n${a}\n\nshould loosely deep-equal\n\n${e}`;
      case 'notStrictEqual':
        return `Expected "actual" to be strictly unequal to: ${e}`;
      case 'notDeepStrictEqual':
        return `Expected "actual" not to be strictly deep-equal to: ${e}`;
      case 'notDeepEqual':
        return `Expected "actual" not to be loosely deep-equal to:\n\n${e}`;
      case '==':
        return `${a} == ${e}`;
      case '!=':
        return `${a} != ${e}`;
      default:
        return `${a} ${o.operator ?? ''} ${e}`;
    }
  }

  /** Throw an AssertionError, or the Error given as the message (as Node does). */
  /** `generated`: the message is Outpost's own (AssertionError's generatedMessage). */
  function raise(
    actual: unknown,
    expected: unknown,
    operator: string,
    message: unknown,
    fn?: Fn,
    generated = false,
  ): never {
    if (message instanceof Error) throw message;
    const err = new AssertionError({ actual, expected, operator, message });
    if (generated) err.generatedMessage = true;
    const capture = (Error as any).captureStackTrace;
    if (fn && typeof capture === 'function') capture(err, fn);
    throw err;
  }

  // --- deep equality (Node's rules, simplified) ---

  const tag = (v: object) => Object.prototype.toString.call(v);
  const bothNaN = (a: unknown, b: unknown) => Number.isNaN(a) && Number.isNaN(b);
  /** `==`, which defines assert.equal and deepEqual's primitives; NaN equals NaN. */
  const looseEq = (a: unknown, b: unknown): boolean =>
    // biome-ignore lint/suspicious/noDoubleEquals: Node's loose assertions are defined by ==
    a == b || bothNaN(a, b);

  function isDeepEqual(a: unknown, b: unknown, strict: boolean, seen: Map<object, object>): boolean {
    if (strict ? Object.is(a, b) : a === b || bothNaN(a, b)) return true;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
      // Loose mode compares primitives with ==.
      const prim = (v: unknown) => typeof v !== 'object' || v === null;
      return !strict && prim(a) && prim(b) && looseEq(a, b);
    }
    if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    if (tag(a) !== tag(b)) return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    const prior = seen.get(a);
    if (prior !== undefined) return prior === b;
    seen.set(a, b);
    try {
      return compareObjects(a, b, strict, seen);
    } finally {
      seen.delete(a);
    }
  }

  function compareObjects(a: any, b: any, strict: boolean, seen: Map<object, object>): boolean {
    if (a instanceof Date) {
      if (a.getTime() !== b.getTime()) return false;
    } else if (a instanceof RegExp) {
      if (a.source !== b.source || a.flags !== b.flags || a.lastIndex !== b.lastIndex) return false;
    } else if (a instanceof Error) {
      if (a.message !== b.message || a.name !== b.name) return false;
    } else if (ArrayBuffer.isView(a)) {
      if (a.byteLength !== (b as ArrayBufferView).byteLength) return false;
      if (!(a instanceof DataView) && !(a instanceof Float32Array) && !(a instanceof Float64Array)) {
        const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
        return keysEqual(a, b, strict, seen, true);
      }
    } else if (a instanceof ArrayBuffer) {
      if (a.byteLength !== b.byteLength) return false;
      const x = new Uint8Array(a);
      const y = new Uint8Array(b);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
      return true;
    } else if (a instanceof Number || a instanceof String || a instanceof Boolean || a instanceof BigInt) {
      if (!Object.is(a.valueOf(), b.valueOf())) return false;
    } else if (a instanceof Map) {
      if (a.size !== b.size) return false;
      outer: for (const [k, v] of a) {
        if (b.has(k)) {
          if (!isDeepEqual(v, b.get(k), strict, seen)) return false;
          continue;
        }
        if (typeof k !== 'object' || k === null) {
          if (strict) return false;
        }
        for (const [k2, v2] of b)
          if (isDeepEqual(k, k2, strict, seen) && isDeepEqual(v, v2, strict, seen)) continue outer;
        return false;
      }
    } else if (a instanceof Set) {
      if (a.size !== b.size) return false;
      outer: for (const v of a) {
        if (b.has(v)) continue;
        if ((typeof v !== 'object' || v === null) && strict) return false;
        for (const v2 of b) if (isDeepEqual(v, v2, strict, seen)) continue outer;
        return false;
      }
    }
    return keysEqual(a, b, strict, seen, false);
  }

  function keysEqual(
    a: any,
    b: any,
    strict: boolean,
    seen: Map<object, object>,
    indexedDone: boolean,
  ): boolean {
    const own = (o: object) => {
      const keys: (string | symbol)[] = Object.keys(o);
      if (strict)
        for (const s of Object.getOwnPropertySymbols(o))
          if (Object.prototype.propertyIsEnumerable.call(o, s)) keys.push(s);
      return indexedDone ? keys.filter((k) => typeof k !== 'string' || !/^\d+$/.test(k)) : keys;
    };
    const ka = own(a);
    const kb = own(b);
    if (ka.length !== kb.length) return false;
    for (const k of ka) {
      if (!Object.prototype.propertyIsEnumerable.call(b, k)) return false;
      if (!isDeepEqual(a[k], b[k], strict, seen)) return false;
    }
    return true;
  }

  const deepEq = (a: unknown, b: unknown, strict: boolean) => isDeepEqual(a, b, strict, new Map());

  // --- the assertions ---

  function innerOk(fn: Fn, argLen: number, value: unknown, message: unknown): void {
    if (value) return;
    if (argLen === 0) raise(undefined, true, '==', 'No value argument passed to `assert.ok()`', fn);
    // Node quotes the failing expression from the source when it can read it; this is its
    // message when it cannot.
    if (message === undefined) raise(value, true, '==', `${show(value)} == true`, fn, true);
    raise(value, true, '==', message, fn);
  }

  function ok(...args: unknown[]): void {
    innerOk(ok, args.length, args[0], args[1]);
  }

  const assert = function assert(...args: unknown[]): void {
    innerOk(assert, args.length, args[0], args[1]);
  } as Fn & Record<string, unknown>;

  function equal(actual: unknown, expected: unknown, message?: unknown): void {
    if (!looseEq(actual, expected)) raise(actual, expected, '==', message, equal);
  }
  function notEqual(actual: unknown, expected: unknown, message?: unknown): void {
    if (looseEq(actual, expected)) raise(actual, expected, '!=', message, notEqual);
  }
  function strictEqual(actual: unknown, expected: unknown, message?: unknown): void {
    if (!Object.is(actual, expected)) raise(actual, expected, 'strictEqual', message, strictEqual);
  }
  function notStrictEqual(actual: unknown, expected: unknown, message?: unknown): void {
    if (Object.is(actual, expected)) raise(actual, expected, 'notStrictEqual', message, notStrictEqual);
  }
  function deepEqual(actual: unknown, expected: unknown, message?: unknown): void {
    if (!deepEq(actual, expected, false)) raise(actual, expected, 'deepEqual', message, deepEqual);
  }
  function notDeepEqual(actual: unknown, expected: unknown, message?: unknown): void {
    if (deepEq(actual, expected, false)) raise(actual, expected, 'notDeepEqual', message, notDeepEqual);
  }
  function deepStrictEqual(actual: unknown, expected: unknown, message?: unknown): void {
    if (!deepEq(actual, expected, true)) raise(actual, expected, 'deepStrictEqual', message, deepStrictEqual);
  }
  function notDeepStrictEqual(actual: unknown, expected: unknown, message?: unknown): void {
    if (deepEq(actual, expected, true))
      raise(actual, expected, 'notDeepStrictEqual', message, notDeepStrictEqual);
  }

  function fail(message?: unknown): never {
    if (message instanceof Error) throw message;
    raise(undefined, undefined, 'fail', message ?? 'Failed', fail);
  }

  function ifError(value: unknown): void {
    if (value === null || value === undefined) return;
    let message = 'ifError got unwanted exception: ';
    const m = (value as Error)?.message;
    message += typeof m === 'string' ? m : show(value);
    const err = new AssertionError({ actual: value, expected: null, operator: 'ifError', message });
    throw err;
  }

  function invalidArg(name: string, expected: string, v: unknown): TypeError {
    const e = new TypeError(
      `The "${name}" argument must be ${expected}. Received ${v === null ? 'null' : typeof v}`,
    ) as TypeError & { code: string };
    e.code = 'ERR_INVALID_ARG_TYPE';
    return e;
  }

  /** Whether `err` is what `expected` asks for (a class, RegExp, validator or object); throws if not. */
  function checkError(err: unknown, expected: unknown, message: unknown, fn: Fn): void {
    if (expected === undefined) return;
    if (expected instanceof RegExp) {
      if (!expected.test(String(err)))
        raise(
          err,
          expected,
          fn.name,
          message ??
            `The input did not match the regular expression ${expected}. Input:\n\n${show(String(err))}\n`,
          fn,
          message === undefined,
        );
      return;
    }
    if (typeof expected === 'function') {
      if (expected.prototype !== undefined && err instanceof (expected as any)) return;
      if (Object.prototype.isPrototypeOf.call(Error, expected) || expected === Error)
        raise(
          err,
          expected,
          fn.name,
          message ??
            `The error is expected to be an instance of "${expected.name}". Received "${(err as Error)?.name ?? typeof err}"\n\nError message:\n\n${(err as Error)?.message ?? show(err)}`,
          fn,
          message === undefined,
        );
      if ((expected as Fn).call({}, err) === true) return;
      raise(
        err,
        expected,
        fn.name,
        message ??
          `The ${expected.name ? `"${expected.name}" ` : ''}validation function is expected to return "true". Received ${show(err)}`,
        fn,
        message === undefined,
      );
    }
    if (expected !== null && typeof expected === 'object') {
      const e = expected as Record<string, unknown>;
      const keys = Object.keys(e);
      if (expected instanceof Error) keys.push('name', 'message');
      for (const k of keys) {
        const want = e[k];
        const got = (err as Record<string, unknown>)?.[k];
        if (want instanceof RegExp && typeof got === 'string') {
          if (!want.test(got))
            raise(
              err,
              expected,
              fn.name,
              message ?? `The input did not match the regular expression ${want}. Input:\n\n${show(got)}\n`,
              fn,
              message === undefined,
            );
        } else if (!deepEq(got, want, true)) {
          raise(
            err,
            expected,
            fn.name,
            message ??
              `Expected values to be strictly deep-equal:\n+ actual - expected\n\n  Comparison {\n+   ${String(k)}: ${show(got)}\n-   ${String(k)}: ${show(want)}\n  }`,
            fn,
            message === undefined,
          );
        }
      }
      return;
    }
    throw invalidArg('error', 'of type function or an instance of Error, RegExp, or Object', expected);
  }

  const NO_EXCEPTION = Symbol('no exception');

  function expectedAndMessage(error: unknown, message: unknown): [unknown, unknown] {
    if (typeof error === 'string') {
      if (message !== undefined)
        throw invalidArg('error', 'of type function or an instance of Error, RegExp, or Object', error);
      return [undefined, error];
    }
    return [error, message];
  }

  function describeExpected(expected: unknown): string {
    return typeof expected === 'function' && expected.name ? ` (${expected.name})` : '';
  }

  function throws(fn: unknown, error?: unknown, message?: unknown): void {
    if (typeof fn !== 'function') throw invalidArg('fn', 'of type function', fn);
    const [expected, msg] = expectedAndMessage(error, message);
    let caught: unknown = NO_EXCEPTION;
    try {
      (fn as Fn)();
    } catch (err) {
      caught = err;
    }
    if (caught === NO_EXCEPTION)
      raise(
        undefined,
        expected,
        'throws',
        msg
          ? `Missing expected exception: ${msg}`
          : `Missing expected exception${describeExpected(expected)}.`,
        throws,
      );
    checkError(caught, expected, msg, throws);
  }

  function doesNotThrow(fn: unknown, error?: unknown, message?: unknown): void {
    if (typeof fn !== 'function') throw invalidArg('fn', 'of type function', fn);
    const [expected, msg] = expectedAndMessage(error, message);
    try {
      (fn as Fn)();
    } catch (err) {
      if (
        typeof expected === 'function' &&
        expected.prototype !== undefined &&
        !(err instanceof (expected as any))
      )
        throw err;
      const detail = msg ? `: ${msg}` : '.';
      raise(
        err,
        expected,
        'doesNotThrow',
        `Got unwanted exception${detail}\nActual message: "${(err as Error)?.message}"`,
        doesNotThrow,
      );
    }
  }

  async function settle(promiseFn: unknown, name: string): Promise<{ ok: boolean; v: unknown }> {
    let p: unknown = promiseFn;
    if (typeof promiseFn === 'function') {
      p = (promiseFn as Fn)();
      if (!p || typeof (p as Promise<unknown>).then !== 'function') {
        const e = new TypeError(
          `Expected instance of Promise to be returned from the "promiseFn" function but got ${typeof p}.`,
        ) as TypeError & { code: string };
        e.code = 'ERR_INVALID_RETURN_VALUE';
        throw e;
      }
    } else if (!p || typeof (p as Promise<unknown>).then !== 'function') {
      throw invalidArg(name, 'of type function or an instance of Promise', promiseFn);
    }
    try {
      return { ok: true, v: await p };
    } catch (err) {
      return { ok: false, v: err };
    }
  }

  async function rejects(promiseFn: unknown, error?: unknown, message?: unknown): Promise<void> {
    const [expected, msg] = expectedAndMessage(error, message);
    const r = await settle(promiseFn, 'promiseFn');
    if (r.ok)
      raise(
        undefined,
        expected,
        'rejects',
        msg
          ? `Missing expected rejection: ${msg}`
          : `Missing expected rejection${describeExpected(expected)}.`,
        rejects,
      );
    checkError(r.v, expected, msg, rejects);
  }

  async function doesNotReject(promiseFn: unknown, error?: unknown, message?: unknown): Promise<void> {
    const [expected, msg] = expectedAndMessage(error, message);
    const r = await settle(promiseFn, 'promiseFn');
    if (r.ok) return;
    if (
      typeof expected === 'function' &&
      expected.prototype !== undefined &&
      !(r.v instanceof (expected as any))
    )
      throw r.v;
    const detail = msg ? `: ${msg}` : '.';
    raise(
      r.v,
      expected,
      'doesNotReject',
      `Got unwanted rejection${detail}\nActual message: "${(r.v as Error)?.message}"`,
      doesNotReject,
    );
  }

  function matchCheck(string: unknown, regexp: unknown, message: unknown, fn: Fn, want: boolean): void {
    if (!(regexp instanceof RegExp)) throw invalidArg('regexp', 'an instance of RegExp', regexp);
    if (typeof string !== 'string')
      raise(
        string,
        regexp,
        fn.name,
        message ??
          `The "string" argument must be of type string. Received type ${typeof string} (${show(string)})`,
        fn,
        message === undefined,
      );
    if (regexp.test(string) === want) return;
    raise(
      string,
      regexp,
      fn.name,
      message ??
        (want
          ? `The input did not match the regular expression ${regexp}. Input:\n\n${show(string)}\n`
          : `The input was expected to not match the regular expression ${regexp}. Input:\n\n${show(string)}\n`),
      fn,
      message === undefined,
    );
  }
  function match(string: unknown, regexp: unknown, message?: unknown): void {
    matchCheck(string, regexp, message, match, true);
  }
  function doesNotMatch(string: unknown, regexp: unknown, message?: unknown): void {
    matchCheck(string, regexp, message, doesNotMatch, false);
  }

  const common = {
    AssertionError,
    ok,
    fail,
    ifError,
    throws,
    doesNotThrow,
    rejects,
    doesNotReject,
    match,
    doesNotMatch,
    strictEqual,
    notStrictEqual,
    deepStrictEqual,
    notDeepStrictEqual,
  };

  Object.assign(assert, common, { equal, notEqual, deepEqual, notDeepEqual });

  /** assert.strict (node:assert/strict): equal is strictEqual, deepEqual is deepStrictEqual. */
  const strict = function strict(...args: unknown[]): void {
    innerOk(strict, args.length, args[0], args[1]);
  } as Fn & Record<string, unknown>;
  Object.assign(strict, common, {
    equal: strictEqual,
    notEqual: notStrictEqual,
    deepEqual: deepStrictEqual,
    notDeepEqual: notDeepStrictEqual,
  });
  strict.strict = strict;
  assert.strict = strict;

  module.exports = assert;
}
