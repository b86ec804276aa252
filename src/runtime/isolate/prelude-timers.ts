/**
 * The prelude's own timers for its free uses of `setTimeout`, `clearTimeout` and
 * `queueMicrotask` (prelude.ts injects this file, as intrinsic-globals.ts): tenant code may
 * replace the globals, and a replacement would be handed the prelude's callbacks (a held
 * event's resolver, a storage commit). A file of its own: timers.ts names `Promise`, so it
 * imports intrinsic-globals.ts, which must not import it back.
 */
export { clearTimeout, queueMicrotask, setTimeout } from './timers.ts';
