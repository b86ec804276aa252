import { unsafe } from '../codegen.ts';

/**
 * workerd's and Miniflare's `unsafe_eval` binding: code from strings at any time, for test
 * harnesses (`eval(code)`, `newFunction(code, name?, ...argNames)`, `newAsyncFunction(...)`).
 */
export function unsafeEval(): object {
  const named = <T extends Function>(fn: T, name: unknown): T => {
    if (name !== undefined) Object.defineProperty(fn, 'name', { value: String(name) });
    return fn;
  };
  return Object.freeze({
    eval: (code: unknown) => unsafe.eval(String(code)),
    newFunction: (code: unknown, name?: unknown, ...args: unknown[]) =>
      named(unsafe.newFunction(String(code), args.map(String)), name),
    newAsyncFunction: (code: unknown, name?: unknown, ...args: unknown[]) =>
      named(unsafe.newAsyncFunction(String(code), args.map(String)), name),
  });
}
