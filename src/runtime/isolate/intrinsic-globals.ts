/**
 * Globals the prelude binds when it loads instead of reading them from `globalThis` each time
 * (prelude.ts injects this file: esbuild replaces every free use of an exported name with it).
 * Tenant code can assign `globalThis.Promise`; the prelude's `new Promise`, `Promise.all`… then
 * still reach the intrinsic, not a replacement that would receive the prelude's executors and
 * callbacks. Read as `globalThis.X` here: a bare `X` would name this file's own export. No
 * imports: every prelude file that names `Promise` imports this one, which must run first.
 */
const IntrinsicPromise: PromiseConstructor = globalThis.Promise;
export { IntrinsicPromise as Promise };
