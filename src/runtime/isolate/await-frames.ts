/**
 * The request context across a tenant's native `await`s.
 *
 * A native `await` resumes its function from a V8 job that calls no `then`, so the frame
 * (context.ts) current where the function awaited is not current where it resumes. Tenant
 * bundles therefore keep their async functions native and have each one rewritten when bundled
 * (src/runtime/bundle-awaits.ts) to carry its frame by hand, with one of these per activation:
 *
 *   async function f(x) {                 async function f(x) {
 *     try {                                 const $ = __outpostFrames(); try {
 *       return await g(x);        →           try {
 *     } catch (e) {                             return $.t($.r(await $.s(g(x))));
 *       log(e);                               } catch (e) { $.c();
 *     }                                         log(e);
 *   }                                         }
 *                                           } finally { $.x() }
 *                                         }
 *
 * - `s` (suspend), on the value awaited: remembers the frame current now, the one to resume in,
 *   and gives back the job's own frame if the function had been resumed (the code the function
 *   returns to is not its own). A thenable that is not a native promise is adopted here, its
 *   `then` called in this frame (V8 would call it from a job in none).
 * - `r` (resume), on the awaited value: remembers the job's frame and makes the function's
 *   current again.
 * - `c` (caught), first thing in each `catch` and `finally` block: an await that rejected
 *   resumes there, not through `r`.
 * - `x` (exit), in a `finally` around the whole body: a function that ends (returns or throws)
 *   after it was resumed gives the job's frame back.
 * - `t`, on a returned value: a returned thenable adopted in this frame, as an awaited one.
 *
 * Lowering async functions to generators (what esbuild does, and the prelude still does) costs
 * a new generator function per call, and V8 makes a map and a prototype for each on its first
 * call: ~1–2 µs per call of an async function, against ~50 ns for this (bench: a worker
 * awaiting one promise, per core).
 *
 * What tenant code can do with one (it can reach the factory: see docs/runtime.md): `r` and `c`
 * make current the frame that was current at its last `s`, a frame its own code ran in, and
 * leave it current until the next `s` or `x` — so it can attribute its I/O to another of its own
 * invocations still running, as a `then` callback or `AsyncLocalStorage.snapshot()` registered
 * in that invocation already can. The fields are private: no frame is ever handed out.
 */
import { adoptInFrame, currentFrame, type Frame, replace } from './context.ts';

class AwaitFrames {
  /** The frame the function runs in, as of its last await. */
  #own: Frame | undefined = undefined;
  /** The frame of the job that resumed it, given back when it suspends or ends. */
  #job: Frame | undefined = undefined;
  /** Whether it has resumed from an await at least once (before that, its caller runs it). */
  #resumed = false;
  /** Whether it runs now (false from `s` until `r` or `c`). */
  #running = true;

  s(value: unknown): unknown {
    this.#own = currentFrame();
    const awaited = adoptInFrame(value);
    if (this.#resumed) replace(this.#job);
    this.#running = false;
    return awaited;
  }

  r(value: unknown): unknown {
    this.#job = currentFrame();
    this.#resumed = true;
    this.#running = true;
    replace(this.#own);
    return value;
  }

  c(): void {
    if (this.#running) return;
    this.#job = currentFrame();
    this.#resumed = true;
    this.#running = true;
    replace(this.#own);
  }

  x(): void {
    if (this.#running && this.#resumed) replace(this.#job);
  }

  t(value: unknown): unknown {
    return adoptInFrame(value);
  }
}
Object.freeze(AwaitFrames.prototype);

/**
 * What each rewritten async function calls first: bound as `__outpostFrames` by the bundle's
 * wrapper (a script's fourth argument, dispatch.ts `load`) or imported from `outpost:runtime`
 * (a module bundle), never a global.
 */
export function __outpostFrames(): AwaitFrames {
  return new AwaitFrames();
}
