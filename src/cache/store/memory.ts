/** An in-memory CacheStore: least recently used entries go first past the byte budget. */
import { type CacheStore, checkBudget, type EntryMeta, entrySize, type StoredEntry } from './types.ts';

export class MemoryStore implements CacheStore {
  /** key → variant → entry; the outer map's order is the LRU order (oldest first). */
  #entries = new Map<string, Map<string, StoredEntry>>();
  #bytes = 0;
  #count = 0;
  readonly maxBytes: number;

  constructor(options: { maxBytes?: number } = {}) {
    this.maxBytes = checkBudget('MemoryStore maxBytes', options.maxBytes, 256 * 1024 * 1024);
  }

  /** Each key's variants as get() returns them (most recent first), kept until they change. */
  #lists = new WeakMap<Map<string, StoredEntry>, StoredEntry[]>();
  /** The insert-or-move sequence number at which a key last reached the LRU's young end. */
  #moved = new WeakMap<Map<string, StoredEntry>, number>();
  #seq = 0;

  async get(key: string): Promise<StoredEntry[]> {
    const variants = this.#entries.get(key);
    if (!variants) return [];
    // Moving a key on every hit churns the Map. A key that fewer than half the keys have
    // passed since it last moved is in the young half already and stays (approximate LRU).
    if (this.#seq - (this.#moved.get(variants) ?? 0) > this.#entries.size >> 1) {
      this.#entries.delete(key);
      this.#entries.set(key, variants);
      this.#moved.set(variants, ++this.#seq);
    }
    let list = this.#lists.get(variants);
    if (!list) this.#lists.set(variants, (list = [...variants.values()].reverse()));
    return list;
  }

  async put(meta: EntryMeta, body: Uint8Array): Promise<boolean> {
    const size = entrySize(meta, body);
    if (size > this.maxBytes) return false;
    this.#removeVariant(meta.key, meta.variant);
    let variants = this.#entries.get(meta.key);
    if (!variants) {
      this.#entries.set(meta.key, (variants = new Map()));
      this.#moved.set(variants, ++this.#seq);
    }
    this.#lists.delete(variants);
    variants.set(meta.variant, {
      ...meta,
      headers: [...meta.headers],
      tags: [...meta.tags],
      ...(meta.edge ? { edge: { ...meta.edge } } : {}),
      body,
    });
    this.#bytes += size;
    this.#count++;
    for (const [k] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
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
    const e = this.#entries.get(key)?.get(variant);
    if (!e) return false;
    this.#bytes -= entrySize(e, e.body);
    Object.assign(e, {
      headers: [...changes.headers],
      requestTime: changes.requestTime,
      responseTime: changes.responseTime,
    });
    this.#bytes += entrySize(e, e.body);
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
    this.#entries.clear();
    this.#bytes = 0;
    this.#count = 0;
    return n;
  }

  async stats() {
    return { bytes: this.#bytes, entries: this.#count };
  }

  async close(): Promise<void> {}

  #purge(match: (e: StoredEntry) => boolean): number {
    let n = 0;
    for (const [key, variants] of [...this.#entries]) {
      for (const [variant, e] of [...variants]) {
        if (!match(e)) continue;
        this.#removeVariant(key, variant);
        n++;
      }
    }
    return n;
  }

  #removeVariant(key: string, variant: string): void {
    const variants = this.#entries.get(key);
    const e = variants?.get(variant);
    if (!variants || !e) return;
    variants.delete(variant);
    this.#lists.delete(variants);
    this.#bytes -= entrySize(e, e.body);
    this.#count--;
    if (variants.size === 0) this.#entries.delete(key);
  }

  #removeKey(key: string): number {
    const variants = this.#entries.get(key);
    if (!variants) return 0;
    const n = variants.size;
    for (const v of [...variants.keys()]) this.#removeVariant(key, v);
    return n;
  }
}
