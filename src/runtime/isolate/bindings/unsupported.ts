/**
 * A binding the config declares that Outpost does not provide (src/config/bindings/unsupported.ts):
 * `env.NAME` exists, and any use of it — a method, a property, a call — throws an Error naming
 * the binding, its config key and what it is, where it is used.
 */
export function unsupportedBinding(name: string, key: string, what: string): object {
  const fail = (): never => {
    throw new Error(
      `env.${name} is ${what} (${key} in the wrangler config), which Outpost does not support yet`,
    );
  };
  return new Proxy(
    {},
    {
      get(_t, prop) {
        // Inspection and `await` must not throw: they are not uses.
        if (
          prop === 'then' ||
          prop === Symbol.toPrimitive ||
          prop === Symbol.toStringTag ||
          prop === 'toJSON'
        )
          return undefined;
        return fail();
      },
      set: fail,
      has: fail,
      apply: fail,
      construct: fail,
    },
  );
}
