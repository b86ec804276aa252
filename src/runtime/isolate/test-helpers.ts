// Shared by the tests that compare Outpost's JavaScript versions of V8's list walks with V8's
// own (array-generic.test.ts, lists.test.ts): what each reads and writes, and how it ends.

/** A Proxy that logs the traps an algorithm calls on its target, in order. */
export function logged<T extends object>(target: T, log: string[]): T {
  const k = (key: PropertyKey) => (typeof key === 'symbol' ? key.toString() : key);
  return new Proxy(target, {
    get(t, key, r) {
      log.push(`get ${k(key)}`);
      return Reflect.get(t, key, r);
    },
    has(t, key) {
      log.push(`has ${k(key)}`);
      return Reflect.has(t, key);
    },
    set(t, key, v, r) {
      log.push(`set ${k(key)}`);
      return Reflect.set(t, key, v, r);
    },
    deleteProperty(t, key) {
      log.push(`delete ${k(key)}`);
      return Reflect.deleteProperty(t, key);
    },
    defineProperty(t, key, d) {
      log.push(`define ${k(key)}`);
      return Reflect.defineProperty(t, key, d);
    },
    getOwnPropertyDescriptor(t, key) {
      log.push(`own ${k(key)}`);
      return Reflect.getOwnPropertyDescriptor(t, key);
    },
  });
}

/** The name of the error `f` throws, or what it returns. */
export function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (err) {
    return (err as Error).constructor.name;
  }
}
