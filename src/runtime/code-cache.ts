/**
 * V8's code cache for tenant bundles, shared by every isolate that loads the same source under
 * the same name (a second isolate under load, each Durable Object, a tenant back after eviction,
 * tenants of one project).
 *
 * The key is a hash the runtime computes from what it compiles (source, file name, line offset),
 * never one a deploy supplies: V8 checks a cache against the source's length alone, so a cache
 * filed under a forged key would run one tenant's bytecode in another's isolate. The file name
 * is in the key because V8 keeps the name of the script that made a cache.
 *
 * When a cache is made, and from what:
 *  - The first compile of a source makes none: making one costs a fifth of a compile (0.5 of
 *    3.0 ms for a 65 KB bundle), wasted on code loaded once, as a tenant's own code mostly is.
 *  - The second compile makes it (its Turn), once that isolate has served its first invocation
 *    and has none in flight: the script is compiled again in the same isolate, where V8 finds it
 *    in its compilation cache with every function that ran already compiled, and serializes all
 *    of them. A cache made at compile time holds the top level alone, and V8 compiles each
 *    function the first request calls, lazily, in every new isolate. Measured (400 small
 *    functions, a fresh isolate: compile, run, first call): no cache 12.2 ms, made at compile
 *    8.9 ms, made after a run 1.9 ms. isolated-vm 5 offers no way to serialize a script after
 *    it ran; compiling it again is that way. The work runs on the isolate's thread, and its CPU
 *    is credited back to the isolate's clock (it is not the tenant's).
 *  - Every compile after that uses it. One V8 refuses (flags changed) is dropped and made again.
 * Caches past `maxBytes` in all are dropped, least recently used first.
 */
import { createHash } from 'node:crypto';
import type ivm from 'isolated-vm';

interface Compiled {
  cachedData?: ivm.ExternalCopy<ArrayBuffer>;
  cachedDataRejected?: boolean;
}

export interface CompileOptions {
  filename: string;
  lineOffset?: number;
}

/** An isolate's turn to make a source's cache. */
export interface Turn {
  /** Make it now; `credit` is handed the CPU that took on the isolate's clock (ns). */
  make(credit: (ns: bigint) => void): void;
  /** Not going to: the next compile of the source takes the turn. */
  giveBack(): void;
}

/** The key of `source` compiled under `options`. */
export function cacheKey(source: string, options: CompileOptions): string {
  return createHash('sha256')
    .update(`${options.filename}\0${options.lineOffset ?? 0}\0`)
    .update(source)
    .digest('hex');
}

/** Sources compiled once without a cache that are remembered (beyond, the oldest are forgotten). */
const MAX_ONCE = 100_000;

export class CodeCache {
  readonly #entries = new Map<string, { data: ivm.ExternalCopy<ArrayBuffer>; bytes: number }>();
  /** Sources compiled once, with no cache made. */
  readonly #once = new Set<string>();
  /** Sources whose cache an isolate has the turn to make. */
  readonly #making = new Set<string>();
  /** Compiles that used a cache. */
  hits = 0;
  /** Bytes the caches hold. */
  bytes = 0;

  constructor(private readonly maxBytes = 256 * 1024 * 1024) {}

  /** Sources with a cache. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Compile `source` in `isolate` with its cache when there is one (`key`: cacheKey(source,
   * options), computed by the caller once per bundle). `turn`, when not null, is this isolate's
   * turn to make the cache.
   */
  compile(
    isolate: ivm.Isolate,
    source: string,
    key: string,
    options: CompileOptions,
  ): { script: ivm.Script; turn: Turn | null } {
    const entry = this.#entries.get(key);
    const script = isolate.compileScriptSync(source, { ...options, cachedData: entry?.data });
    if (entry) {
      if ((script as unknown as Compiled).cachedDataRejected !== true) {
        this.hits++;
        // Most recently used last: the first to go when over maxBytes is the oldest used.
        this.#entries.delete(key);
        this.#entries.set(key, entry);
      } else this.#drop(key); // V8 refused it (flags changed): made again below
    }
    if (this.#entries.has(key) || this.#making.has(key)) return { script, turn: null };
    if (!this.#once.has(key)) {
      this.#once.add(key);
      if (this.#once.size > MAX_ONCE) this.#once.delete(this.#once.values().next().value as string);
      return { script, turn: null };
    }
    this.#making.add(key);
    let taken = false;
    const take = () => {
      const first = !taken;
      taken = true;
      return first;
    };
    return {
      script,
      turn: {
        make: (credit) => {
          if (take()) this.#make(isolate, source, key, options, credit);
        },
        giveBack: () => {
          if (take()) this.#making.delete(key);
        },
      },
    };
  }

  #drop(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.bytes -= e.bytes;
    this.#entries.delete(key);
  }

  #make(
    isolate: ivm.Isolate,
    source: string,
    key: string,
    options: CompileOptions,
    credit: (ns: bigint) => void,
  ): void {
    if (isolate.isDisposed) {
      this.#making.delete(key);
      return;
    }
    const before = isolate.cpuTime;
    isolate
      .compileScript(source, { ...options, produceCachedData: true })
      .then((script) => {
        if (!isolate.isDisposed) credit(isolate.cpuTime - before);
        const data = (script as unknown as Compiled).cachedData;
        script.release();
        if (!data) return;
        this.#drop(key);
        const bytes = data.copy().byteLength;
        this.#entries.set(key, { data, bytes });
        this.bytes += bytes;
        this.#once.delete(key);
        for (const [k] of this.#entries) {
          if (this.bytes <= this.maxBytes) break;
          this.#drop(k);
        }
      })
      .catch(() => {}) // the isolate went meanwhile: the next compile takes the turn
      .finally(() => this.#making.delete(key));
  }
}
