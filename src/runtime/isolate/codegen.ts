/**
 * Code from strings (`eval`, `new Function`, and the async and generator function
 * constructors) is allowed while a worker starts (its top level) and refused afterwards, as on
 * Workers, with V8's own error: `EvalError: Code generation from strings disallowed for this
 * context`. Code that runs on Outpost must not fail on Cloudflare.
 *
 * V8 decides this per context in C++ (AllowCodeGenerationFromStrings), which isolated-vm does not
 * expose; here each constructor is replaced by a guard that checks the phase and calls the
 * original, kept only in this module. A reference a tenant captured at its top level is the
 * guard, so it is refused later too. `eval` through the guard is indirect eval (global scope).
 *
 * The `unsafe_eval` binding (bindings.ts), as in workerd and Miniflare, evaluates at any time:
 * a worker opts in to it in its config (test harnesses use it).
 */
import { standIn } from './stand-in.ts';

let allowed = true;

// biome-ignore lint/security/noGlobalEval: kept to guard it, the point of this module
const intrinsicEval = globalThis.eval;
const IntrinsicFunction = Function;
// From source text: the prelude's own async functions are compiled to generators
// (src/runtime/prelude.ts), so `async () => {}` here would not be an AsyncFunction.
const constructorOf = (source: string) =>
  Object.getPrototypeOf(IntrinsicFunction(`return ${source}`)()).constructor as FunctionConstructor;
const AsyncFunction = constructorOf('async function () {}');
const GeneratorFunction = constructorOf('function* () {}');
const AsyncGeneratorFunction = constructorOf('async function* () {}');

function refuse(): never {
  throw new EvalError('Code generation from strings disallowed for this context');
}

/** Startup begins (a tenant's top level may evaluate strings) or ends (it may not). */
export function allowCodegen(yes: boolean): void {
  allowed = yes;
}

/** The unsafe_eval binding's functions: code from strings at any time. */
export const unsafe = {
  eval: (code: string) => intrinsicEval(code),
  newFunction: (code: string, args: string[]) => Reflect.construct(IntrinsicFunction, [...args, code]),
  newAsyncFunction: (code: string, args: string[]) => Reflect.construct(AsyncFunction, [...args, code]),
};

function guard(Original: FunctionConstructor): FunctionConstructor {
  const Guard = function (this: unknown, ...args: string[]) {
    if (!allowed) refuse();
    return Reflect.construct(Original, args, new.target ?? Original);
  } as unknown as FunctionConstructor;
  standIn(Guard, Original);
  return Guard;
}

export function installCodegenGuard(g: Record<string, unknown>): void {
  const evalGuard = {
    eval(code: unknown) {
      if (!allowed && typeof code === 'string') refuse();
      return intrinsicEval(code as string);
    },
  }.eval;
  Object.defineProperty(g, 'eval', {
    value: evalGuard,
    writable: true,
    enumerable: false,
    configurable: true,
  });
  Object.defineProperty(g, 'Function', {
    value: guard(IntrinsicFunction),
    writable: true,
    enumerable: false,
    configurable: true,
  });
  guard(AsyncFunction);
  guard(GeneratorFunction);
  guard(AsyncGeneratorFunction);
}
