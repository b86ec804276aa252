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
 *  - A compile the caller marks `eager` (a deploy loading its version before any request: it
 *    will be loaded again, after an eviction, in a second isolate, for each Durable Object)
 *    takes the turn at its first compile, and makes the cache as soon as the top level has
 *    run: it then holds what the top level ran, not yet what a request runs. The same isolate
 *    makes it again after its first invocation; if it goes first, the next compile that uses
 *    such a cache has that turn, once.
 *  - Every compile after that uses it. One V8 refuses (flags changed) is dropped and made again.
 * Caches past `maxBytes` in all are dropped, least recently used first.
 */
import { createHash } from 'node:crypto';
import type ivm from 'isolated-vm';
import { cpuTimeOf } from './cpu-meter.ts';

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
  /**
   * Make it now; `credit` is handed the CPU that took on the isolate's clock (ns). `ran`: an
   * invocation has run in the isolate (else only the top level: the cache is made again later).
   */
  make(credit: (ns: bigint) => void, ran: boolean): void;
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

interface Entry {
  data: ivm.ExternalCopy<ArrayBuffer>;
  bytes: number;
  /** Made after an invocation ran (else after the top level alone: made again once). */
  ran: boolean;
}

export class CodeCache {
  readonly #entries = new Map<string, Entry>();
  /** Sources compiled once, with no cache made. */
  readonly #once = new Set<string>();
  /** Sources whose cache an isolate has the turn to make, each with that turn's token. */
  readonly #making = new Map<string, object>();
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
   * turn to make the cache. `eager`: take the turn at the first compile (see the top).
   */
  compile(
    isolate: ivm.Isolate,
    source: string,
    key: string,
    options: CompileOptions,
    eager = false,
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
    const made = this.#entries.get(key);
    if (made?.ran || this.#making.has(key)) return { script, turn: null };
    if (!made && !eager && !this.#once.has(key)) {
      this.#once.add(key);
      if (this.#once.size > MAX_ONCE) this.#once.delete(this.#once.values().next().value as string);
      return { script, turn: null };
    }
    const token = {};
    this.#making.set(key, token);
    const release = () => {
      if (this.#making.get(key) === token) this.#making.delete(key);
    };
    // 'top': made from the top level alone; this isolate may make it again after a run.
    let state: 'open' | 'top' | 'done' = 'open';
    return {
      script,
      turn: {
        make: (credit, ran) => {
          if (state === 'done' || (state === 'top' && !ran)) return;
          state = ran ? 'done' : 'top';
          this.#make(isolate, source, key, options, credit, ran, release);
        },
        giveBack: () => {
          if (state === 'done') return;
          state = 'done';
          release();
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
    ran: boolean,
    release: () => void,
  ): void {
    const before = cpuTimeOf(isolate);
    if (before === undefined) {
      release();
      return;
    }
    isolate
      .compileScript(source, { ...options, produceCachedData: true })
      .then((script) => {
        const after = cpuTimeOf(isolate);
        if (after !== undefined) credit(after - before);
        const data = (script as unknown as Compiled).cachedData;
        script.release();
        if (!data) return;
        this.#drop(key);
        const bytes = data.copy().byteLength;
        this.#entries.set(key, { data, bytes, ran });
        this.bytes += bytes;
        this.#once.delete(key);
        for (const [k] of this.#entries) {
          if (this.bytes <= this.maxBytes) break;
          this.#drop(k);
        }
      })
      .catch(() => {}) // the isolate went meanwhile: the next compile takes the turn
      // After a top-level make the turn stays with the isolate (made again after a run, or
      // given back when it goes).
      .finally(() => {
        if (ran) release();
      });
  }
}
