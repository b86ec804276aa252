/**
 * The young generation of a tenant's isolate, without moving where its memory limit stops it.
 *
 * isolated-vm sizes an isolate's young generation from its memory limit: at 128 MB each
 * semi-space holds 1 MB, and a busy worker is scavenged every 70–200 requests, each scavenge
 * copying the requests in flight (docs/runtime.md, "Costs worth knowing"). V8 takes its
 * `max-semi-space-size` flag over the size an embedder asks for, and reads its flags when an
 * isolate is made, so the flags are set around `new ivm.Isolate` (synchronous) and put back
 * after. A semi-space starts at 1 MB either way and grows only under load: an idle tenant's
 * memory does not change.
 *
 * Where the limit stops a heap: isolated-vm compares used heap + external memory with its
 * `memoryLimit` in some checks (a copy brought into the isolate, compiling, a context), and
 * with `memoryLimit` + (V8's heap limit − `memoryLimit`) in others (after a full collection,
 * an ArrayBuffer allocation). V8's heap limit is the old generation's plus three semi-spaces
 * (two, and a new large-object space as big). So `memoryLimit` stays the tenant's limit, and
 * the old generation V8 starts with (its `max-old-space-size` flag) is made smaller by what the
 * larger semi-spaces add: V8's heap limit, and every check, is what isolated-vm's own sizing
 * gives. (isolated-vm raises the old generation's limit back to `memoryLimit` the first time a
 * heap reaches it, as it always has.) Setting both flags for every tenant isolate also keeps an
 * operator's `--max-semi-space-size` for Node from loosening tenants' limits, which it did:
 * with 64 MB semi-spaces a 128 MB isolate was stopped past 320 MB.
 */
import { setFlagsFromString } from 'node:v8';

/** The largest semi-space given (MB): 4 bought most of what 8 and 16 did (fewer, longer scavenges). */
const MAX_SEMI_SPACE_MB = 4;

/** How an isolate with a memory limit of `memoryMb` MB is made. */
export interface YoungGeneration {
  /** V8's `max-semi-space-size` for the isolate, MB. */
  semiSpaceMb: number;
  /** V8's `max-old-space-size` for the isolate, MB: the heap limit less three semi-spaces. */
  oldSpaceMb: number;
}

/**
 * The semi-space isolated-vm's own sizing gives (MB): a young generation of 2^(min(4, limit /
 * 128) + 10) KB, of which V8 makes a third a semi-space, rounded up to a power of two, at least
 * 1 MB (young-generation.test.ts checks this against isolates isolated-vm makes). The limit is
 * whole MB there (C++ truncates it).
 */
export function ownSemiSpaceMb(memoryMb: number): number {
  const youngKb = 2 ** (Math.min(4, Math.floor(memoryMb) / 128) + 10);
  return Math.max(1, 2 ** Math.ceil(Math.log2(youngKb / 3 / 1024)));
}

export function youngGeneration(memoryMb: number): YoungGeneration {
  const mb = Math.floor(memoryMb);
  const own = ownSemiSpaceMb(mb);
  // A semi-space MB per 32 MB of limit, rounded down to a power of two (V8's are): limits
  // under 64 MB keep isolated-vm's size, and the old generation gives up at most a tenth.
  const wanted = 2 ** Math.floor(Math.log2(Math.max(1, Math.min(MAX_SEMI_SPACE_MB, mb / 32))));
  const semiSpaceMb = Math.max(own, wanted);
  return { semiSpaceMb, oldSpaceMb: mb - 3 * (semiSpaceMb - own) };
}

/**
 * The value (MB) `args` give a V8 size flag, as `--flag=N` or `--flag N`, dashes or
 * underscores; the last one counts. 0 when none does (V8's default).
 */
export function flagValue(args: readonly string[], flag: string): number {
  const name = new RegExp(`^--${flag.replace(/-/g, '[-_]')}(?:=(\\d+))?$`);
  let value = 0;
  for (let i = 0; i < args.length; i++) {
    const m = name.exec(args[i]);
    if (!m) continue;
    const v = m[1] ?? args[i + 1];
    if (v !== undefined && /^\d+$/.test(v)) value = Number(v);
  }
  return value;
}

/** Node's arguments as it applied them: NODE_OPTIONS first, the command line over it. */
const nodeArgs = [...(process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean), ...process.execArgv];

/** What the flags are put back to: what the operator gave Node, else V8's default. */
const restore = {
  semi: flagValue(nodeArgs, 'max-semi-space-size'),
  old: flagValue(nodeArgs, 'max-old-space-size'),
};

/** Make an isolate (`make`, synchronous) with the young generation youngGeneration() gives `memoryMb`. */
export function withYoungGeneration<T>(memoryMb: number, make: () => T): T {
  const young = youngGeneration(memoryMb);
  setFlagsFromString(`--max-semi-space-size=${young.semiSpaceMb}`);
  setFlagsFromString(`--max-old-space-size=${young.oldSpaceMb}`);
  try {
    return make();
  } finally {
    setFlagsFromString(`--max-semi-space-size=${restore.semi}`);
    setFlagsFromString(`--max-old-space-size=${restore.old}`);
  }
}
