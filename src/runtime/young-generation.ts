/**
 * The young generation of a tenant's isolate, and the limit isolated-vm is given for it.
 *
 * isolated-vm sizes an isolate's young generation from its memory limit: 2 MB for 128 MB, so
 * each semi-space holds 1 MB and a worker under load is scavenged every few hundred requests.
 * Each scavenge copies what is alive then (the requests in flight), so smaller semi-spaces
 * mean more copying per request: measured on hello world (64 connections, pinned), the
 * isolate's scavenge pauses came to ~3.7 µs per request with 1 MB semi-spaces and ~1.1 µs with
 * 4 MB (docs/runtime.md, "Costs worth knowing"). V8 takes its `max-semi-space-size` flag over
 * the size an embedder asks for, and reads it when an isolate is made, so it is set around
 * `new ivm.Isolate` (synchronous) and put back after: Node's own isolate and worker threads keep
 * their defaults. The semi-space starts at 1 MB either way and grows only under load, so an idle
 * tenant's memory does not change.
 *
 * The memory limit stays where it was. V8 counts three semi-spaces (two, and a new large-object
 * space as big) into its heap limit, and isolated-vm lets a heap reach its `memoryLimit` plus
 * that reserve before it stops the isolate (used heap + external memory > memoryLimit +
 * reserve). Each extra MB of semi-space adds 3 MB to the reserve, so `memoryLimit` is lowered by
 * as much: the point where a tenant is stopped is `memoryMb` + 3 MB, as with 1 MB semi-spaces.
 */

/** How an isolate with a memory limit of `memoryMb` MB is made. */
export interface YoungGeneration {
  /** V8's `max-semi-space-size` for the isolate, MB (1: isolated-vm's own size). */
  semiSpaceMb: number;
  /** isolated-vm's `memoryLimit`: `memoryMb` less the reserve the larger semi-spaces add. */
  memoryLimit: number;
  /** The semi-space isolated-vm would give (MB): when it is `semiSpaceMb`, no flag is set. */
  own: number;
}

/** The largest semi-space given (MB): 4 bought most of what 8 and 16 did (fewer, longer scavenges). */
const MAX_SEMI_SPACE_MB = 4;

/**
 * The semi-space isolated-vm's own sizing gives (MB): a young generation of 2^(min(4, limit /
 * 128) + 10) KB, of which V8 makes a third a semi-space, rounded up to a power of two, at least
 * 1 MB (young-generation.test.ts checks this against isolates isolated-vm makes).
 */
export function ownSemiSpaceMb(memoryMb: number): number {
  const youngKb = 2 ** (Math.min(4, memoryMb / 128) + 10);
  return Math.max(1, 2 ** Math.ceil(Math.log2(youngKb / 3 / 1024)));
}

export function youngGeneration(memoryMb: number): YoungGeneration {
  const own = ownSemiSpaceMb(memoryMb);
  // A semi-space MB per 32 MB of limit (a power of two, as V8's are): the reserve added stays
  // under a tenth of the limit, and limits under 64 MB keep isolated-vm's size.
  const wanted = 2 ** Math.floor(Math.log2(Math.max(1, Math.min(MAX_SEMI_SPACE_MB, memoryMb / 32))));
  const semiSpaceMb = Math.max(own, wanted);
  return { semiSpaceMb, memoryLimit: memoryMb - 3 * (semiSpaceMb - own), own };
}
