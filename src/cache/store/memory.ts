/**
 * An in-memory CacheStore: least recently used entries go first past the byte budget.
 *
 * With `namespaceMaxBytes`, entries stored under a namespace (a URL `<namespace>\u001f<url>`, as
 * HttpCache stores a worker's fetch() subrequests) are kept per namespace, each with that budget
 * and an LRU of its own: a tenant filling its share evicts its own entries, never another
 * tenant's nor the operator's. Entries without a namespace (CDN proxy mode, the operator's
 * origin) share `maxBytes` among themselves. The store then holds at most
 * maxBytes + (namespaces) × namespaceMaxBytes.
 */
import { type CacheStore, checkBudget, type EntryMeta, entrySize, NS, type StoredEntry } from './types.ts';

type Variants = Map<string, StoredEntry>;

/** One share of the store: its keys in LRU order (oldest first), their bytes and its budget. */
interface Partition {
  entries: Map<string, Variants>;
  bytes: number;
  budget: number;
  /** The insert-or-move sequence number at which a key last reached the LRU's young end. */
  moved: WeakMap<Variants, number>;
  seq: number;
}

export interface MemoryStoreOptions {
  /** Budget of the entries without a namespace (all entries when namespaceMaxBytes is unset); default 256 MiB. */
  maxBytes?: number;
  /** Budget of each namespace's entries; unset: namespaced entries share maxBytes with the rest. */
  namespaceMaxBytes?: number;
}

export class MemoryStore implements CacheStore {
  readonly #parts = new Map<string, Partition>();
  #bytes = 0;
  #count = 0;
  readonly maxBytes: number;
  readonly namespaceMaxBytes: number | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxBytes = checkBudget('MemoryStore maxBytes', options.maxBytes, 256 * 1024 * 1024);
    this.namespaceMaxBytes =
      options.namespaceMaxBytes === undefined
        ? undefined
        : checkBudget('MemoryStore namespaceMaxBytes', options.namespaceMaxBytes, 0);
  }

  /** Each key's variants as get() returns them (most recent first), kept until they change. */
  #lists = new WeakMap<Variants, StoredEntry[]>();

  /** The namespace a key's entries are budgeted under ('' for the shared, un-namespaced part). */
  #nameOf(key: string): string {
    if (this.namespaceMaxBytes === undefined) return '';
    const i = key.indexOf(NS);
    if (i < 0) return '';
    // A key is "METHOD url" (cacheKey); the namespace starts the URL.
    return key.slice(key.indexOf(' ') + 1, i);
  }

  #part(name: string, make: boolean): Partition | undefined {
    let p = this.#parts.get(name);
    if (!p && make) {
      const budget = name === '' ? this.maxBytes : (this.namespaceMaxBytes as number);
      this.#parts.set(name, (p = { entries: new Map(), bytes: 0, budget, moved: new WeakMap(), seq: 0 }));
    }
    return p;
  }

  async get(key: string): Promise<StoredEntry[]> {
    const p = this.#part(this.#nameOf(key), false);
    const variants = p?.entries.get(key);
    if (!p || !variants) return [];
    // Moving a key on every hit churns the Map. A key that fewer than half the keys have
    // passed since it last moved is in the young half already and stays (approximate LRU).
    if (p.seq - (p.moved.get(variants) ?? 0) > p.entries.size >> 1) {
      p.entries.delete(key);
      p.entries.set(key, variants);
      p.moved.set(variants, ++p.seq);
    }
    let list = this.#lists.get(variants);
    if (!list) this.#lists.set(variants, (list = [...variants.values()].reverse()));
    return list;
  }

  async put(meta: EntryMeta, body: Uint8Array): Promise<boolean> {
    const size = entrySize(meta, body);
    const name = this.#nameOf(meta.key);
    const budget = name === '' ? this.maxBytes : (this.namespaceMaxBytes as number);
    if (size > budget) return false;
    this.#removeVariant(meta.key, meta.variant);
    const p = this.#part(name, true) as Partition;
    let variants = p.entries.get(meta.key);
    if (!variants) {
      p.entries.set(meta.key, (variants = new Map()));
      p.moved.set(variants, ++p.seq);
    }
    this.#lists.delete(variants);
    variants.set(meta.variant, {
      ...meta,
      headers: [...meta.headers],
      tags: [...meta.tags],
      ...(meta.edge ? { edge: { ...meta.edge } } : {}),
      body,
    });
    p.bytes += size;
    this.#bytes += size;
    this.#count++;
    // Only this partition's own entries make room.
    for (const [k] of p.entries) {
      if (p.bytes <= p.budget) break;
      if (k === meta.key) continue;
      this.#removeKey(k);
    }
    return true;
  }

  async update(
    key: string,
    variant: string,
    changes: Pick<EntryMeta, 'headers' | 'requestTime' | 'responseTime'>,
  ): Promise<boolean> {
    const p = this.#part(this.#nameOf(key), false);
    const e = p?.entries.get(key)?.get(variant);
    if (!p || !e) return false;
    const before = entrySize(e, e.body);
    Object.assign(e, {
      headers: [...changes.headers],
      requestTime: changes.requestTime,
      responseTime: changes.responseTime,
    });
    const delta = entrySize(e, e.body) - before;
    p.bytes += delta;
    this.#bytes += delta;
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.#removeKey(key) > 0;
  }

  async purgePrefix(urlPrefix: string): Promise<number> {
    return this.#purge((e) => e.url.startsWith(urlPrefix));
  }

  async purgeTag(tag: string): Promise<number> {
    return this.#purge((e) => e.tags.includes(tag));
  }

  async purgeMatching(urlPrefix: string, test: (url: string) => boolean): Promise<number> {
    return this.#purge((e) => e.url.startsWith(urlPrefix) && test(e.url));
  }

  async clear(): Promise<number> {
    const n = this.#count;
    this.#parts.clear();
    this.#bytes = 0;
    this.#count = 0;
    return n;
  }

  async stats() {
    return { bytes: this.#bytes, entries: this.#count };
  }

  async topTags(limit: number): Promise<[string, number][]> {
    const counts = new Map<string, number>();
    for (const p of this.#parts.values())
      for (const variants of p.entries.values())
        for (const e of variants.values())
          for (const t of new Set(e.tags)) counts.set(t, (counts.get(t) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  }

  /** Bytes held under one namespace ('' for the entries without one). */
  bytesOf(namespace: string): number {
    return this.#parts.get(namespace)?.bytes ?? 0;
  }

  async close(): Promise<void> {}

  #purge(match: (e: StoredEntry) => boolean): number {
    let n = 0;
    for (const p of [...this.#parts.values()])
      for (const [key, variants] of [...p.entries]) {
        for (const [variant, e] of [...variants]) {
          if (!match(e)) continue;
          this.#removeVariant(key, variant);
          n++;
        }
      }
    return n;
  }

  #removeVariant(key: string, variant: string): void {
    const name = this.#nameOf(key);
    const p = this.#parts.get(name);
    const variants = p?.entries.get(key);
    const e = variants?.get(variant);
    if (!p || !variants || !e) return;
    variants.delete(variant);
    this.#lists.delete(variants);
    const size = entrySize(e, e.body);
    p.bytes -= size;
    this.#bytes -= size;
    this.#count--;
    if (variants.size === 0) p.entries.delete(key);
    if (p.entries.size === 0) this.#parts.delete(name);
  }

  #removeKey(key: string): number {
    const variants = this.#parts.get(this.#nameOf(key))?.entries.get(key);
    if (!variants) return 0;
    const n = variants.size;
    for (const v of [...variants.keys()]) this.#removeVariant(key, v);
    return n;
  }
}
