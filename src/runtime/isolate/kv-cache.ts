/**
 * A worker's copies of what its PoP's KV cache answered (src/kv/pop.ts), kept in its isolate so
 * that a read of a hot key answers without crossing to the host — the host round trip was most
 * of a KV read's cost (a worker answering with a KV value ran at 0.47x of one answering a
 * constant).
 *
 * A copy holds while the PoP entry it copies does: until the entry's `until`, with the key's
 * expiration applied as the PoP applies it, and only while the key's *slot* — a counter in
 * memory this isolate shares with the host alone (an array per binding per isolate) — still has
 * the value it had when the answer was read: the PoP moves the slot before it changes the key's
 * entry (a read that refills it, a put, a delete, from any worker at this PoP). A put or delete
 * made here drops the key's copy at once.
 *
 * Frozen like the clock (clock.ts): whether a copy holds is decided once per entry into the
 * isolate, with the frozen time, so nothing a worker can observe moves while its code runs — the
 * shared counters are not a clock. A copy may therefore answer past its entry's end by as long as
 * the current run has lasted (bounded by the CPU limit).
 *
 * Copies answer only while a request is being answered (before its response): those reads are
 * reported with the response (dispatch.ts), so Server-Timing, metrics and traces still show each
 * one. Elsewhere (after the response, RPC calls, alarms, a queue batch, inside a custom span
 * that a sampled trace records) reads go to the host.
 *
 * Tenant code shares this isolate: nothing here may pass the shared memory or the notes through
 * anything it can replace (Map.prototype, Array.prototype, iterators, instanceof). Maps are used
 * through methods captured before it runs; notes are strings in a prototype-less record.
 */
import type { KvRead, KvValue } from '../bindings/protocol.ts';
import { entryCount, now } from './clock.ts';
import { currentId, currentSpan } from './context.ts';

// Captured before tenant code runs (this module is part of the prelude).
const atomicsLoad = Atomics.load;
const apply = Reflect.apply;
const I32 = Int32Array;
const MapC = Map;
const mapGet = Map.prototype.get;
const mapSet = Map.prototype.set;
const mapDelete = Map.prototype.delete;
const mapKeys = Map.prototype.keys;
const iterNext = Object.getPrototypeOf(new Map().keys()).next as (
  this: Iterator<string>,
) => IteratorResult<string>;
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size')?.get as (
  this: Map<unknown, unknown>,
) => number;
const floor = Math.floor;

const MAX_KEYS = 512;
const MAX_VALUE_BYTES = 64 * 1024;
/** What all copies of this isolate may hold: value bytes, and their decoded text at two bytes a character. */
const MAX_BYTES = 2 * 1024 * 1024;
/** Reads one request may answer from copies (the notes its response carries are bounded). */
const MAX_NOTED = 1024;

export interface KeptRead {
  value: KvValue | null;
  /** Its text, decoded once (counted in the bound when made). */
  text?: string;
  until: number;
  expiration: number | null;
  slots: Int32Array;
  slot: number;
  epoch: number;
  /** The entry into the isolate it was last checked in, and what the check said. */
  checkedAt: number;
  holds: boolean;
}

/** Requests being answered: the reads each answered from copies, "binding\u001fms\u001e…". */
const notes: Record<number, string> = Object.create(null);
const noted: Record<number, number> = Object.create(null);

/** Request `id` is being answered: its reads may come from copies. */
export function openKvNotes(id: number): void {
  notes[id] = '';
  noted[id] = 0;
}

/** Its response is going out: the reads to report with it (null: none), and no more copies for it. */
export function takeKvNotes(id: number): string | null {
  const n = notes[id];
  delete notes[id];
  delete noted[id];
  return n === undefined || n === '' ? null : n;
}

/** Whether a read with this cacheTtl may be answered by a copy now (else it goes to the host). */
export function copyMayAnswer(cacheTtl: unknown): boolean {
  const n = noted[currentId()];
  // A cacheTtl the PoP would refuse goes there, which says so. A read inside a recorded custom
  // span goes there too: its span belongs under that one, which may end before the response.
  return (
    n !== undefined &&
    currentSpan() === 0 &&
    n < MAX_NOTED &&
    (cacheTtl === undefined || (typeof cacheTtl === 'number' && cacheTtl >= 30))
  );
}

let totalBytes = 0;

/** The frozen time as text, made once per entry into the isolate (many reads note the same). */
let textAt = -1;
let text = '';
function nowText(): string {
  const at = entryCount();
  if (at !== textAt) {
    text = `${now()}`;
    textAt = at;
  }
  return text;
}

export class KvCopies {
  readonly #map: Map<string, KeptRead> = new MapC();
  #bytes = 0;
  /** The key set or moved last in #map (undefined: not known). */
  #last: string | undefined = undefined;

  /** The copy of `key` that holds (noted as answered here), or null. */
  answer(binding: string, key: string): KeptRead | null {
    const e: KeptRead | undefined = apply(mapGet, this.#map, [key]);
    if (e === undefined) return null;
    const at = entryCount();
    if (e.checkedAt !== at) {
      // The verdict first: were it to throw (a stack overflow the tenant provoked), the entry
      // must not stay marked as checked with an old verdict.
      const holds = atomicsLoad(e.slots, e.slot) === e.epoch && now() < e.until;
      e.holds = holds;
      e.checkedAt = at;
    }
    if (!e.holds) {
      this.drop(key);
      return null;
    }
    // Most recently used last; a key read again at once (a hot key) is last already: moving it
    // would grow the map's table with a deleted entry per read, and rebuild it every so often.
    if (this.#last !== key) {
      apply(mapDelete, this.#map, [key]);
      apply(mapSet, this.#map, [key, e]);
      this.#last = key;
    }
    const id = currentId();
    if (notes[id] !== undefined) {
      notes[id] += `${binding}\u001f${nowText()}\u001e`;
      noted[id]++;
    }
    return e;
  }

  /** What the PoP answered for `key` (`r`, as the host sent it): kept when it may be; the entry, or null. */
  keep(key: string, r: KvRead): KeptRead | null {
    this.drop(key);
    // By index, not destructuring: an iterator is tenant-replaceable.
    const value = r[0];
    const until = r[1];
    const slots = r[3];
    const slot = r[4];
    const epoch = r[5];
    if (typeof until !== 'number' || typeof slot !== 'number' || typeof epoch !== 'number') return null;
    const bytes = value === null ? 0 : value.value.byteLength;
    if (bytes > MAX_VALUE_BYTES) return null;
    if (slots === null) return null;
    let view: Int32Array;
    try {
      view = new I32(slots);
    } catch {
      return null;
    }
    // Already changed while the answer crossed: not kept.
    if (atomicsLoad(view, slot) !== epoch) return null;
    // Every field its own from the start: assigning one later must not reach a setter a tenant
    // put on Object.prototype (it would receive this entry, slots and all).
    const e: KeptRead = {
      value,
      text: undefined,
      until,
      expiration: r[2],
      slots: view,
      slot,
      epoch,
      checkedAt: entryCount(),
      holds: now() < until,
    };
    apply(mapSet, this.#map, [key, e]);
    this.#last = key;
    this.#count(bytes);
    while (apply(mapSize, this.#map, []) > MAX_KEYS || (totalBytes > MAX_BYTES && this.#bytes > 0)) {
      const oldest = apply(iterNext, apply(mapKeys, this.#map, []), []).value as string;
      this.drop(oldest);
    }
    return apply(mapGet, this.#map, [key]) ?? null;
  }

  /** `e`'s text, decoded once and counted. */
  text(e: KeptRead, decode: () => string): string {
    if (e.text === undefined) {
      e.text = decode();
      this.#count(e.text.length * 2);
    }
    return e.text;
  }

  drop(key: string): void {
    const e: KeptRead | undefined = apply(mapGet, this.#map, [key]);
    if (e === undefined) return;
    apply(mapDelete, this.#map, [key]);
    if (this.#last === key) this.#last = undefined;
    this.#count(
      -((e.value === null ? 0 : e.value.value.byteLength) + (e.text === undefined ? 0 : e.text.length * 2)),
    );
  }

  #count(n: number): void {
    this.#bytes += n;
    totalBytes += n;
  }
}

/** The value a kept read gives now (null: none), applying the key's expiration as the PoP does. */
export function liveValue(e: KeptRead): KvValue | null {
  if (e.value === null) return null;
  if (e.expiration !== null && e.expiration <= floor(now() / 1000)) return null;
  return e.value;
}
