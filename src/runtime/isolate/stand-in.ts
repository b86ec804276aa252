// One way for the prelude's wrapped constructors (Date, Function, Intl, WebAssembly) to replace the originals.

/**
 * Make `wrapper` stand in for the constructor `original`: its statics, its prototype (so
 * `instanceof` holds), and `prototype.constructor` pointing to the wrapper, so no instance leads
 * back to the unwrapped original.
 */
export function standIn(wrapper: Function, original: Function): void {
  Object.setPrototypeOf(wrapper, Object.getPrototypeOf(original));
  for (const key of Reflect.ownKeys(original)) {
    if (key === 'prototype') continue;
    Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(original, key)!);
  }
  Object.defineProperty(wrapper, 'prototype', { value: original.prototype, writable: false });
  Object.defineProperty(original.prototype, 'constructor', {
    value: wrapper,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
