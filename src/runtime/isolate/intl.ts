/**
 * `Intl` objects hold ICU data outside the V8 heap that isolated-vm's memoryLimit does not count
 * (measured: a DateTimeFormat holds ~26 KB of native memory behind ~230 bytes of heap; 3.4 GB of
 * host memory was reached from a 128 MB isolate). Every constructor, and the segmenter's
 * `segment()` and its iterators (each a copy of an ICU break iterator), reserve an estimate of
 * what they hold against a native budget equal to the isolate's memory limit (native-memory.ts),
 * given back once they are collected. Objects made and dropped cost nothing for long; keeping
 * more than the budget alive is a memory-limit breach.
 *
 * Estimates are per kind, rounded up from measurements on this engine (Node 20's V8 and ICU):
 * DateTimeFormat 26 KB, a word Segmenter 7 KB, a Collator 1.6 KB, a word segment() 2 KB, the
 * rest under 300 bytes.
 */

import { localeList } from './lists.ts';
import { NativeBudget } from './native-memory.ts';
import { standIn } from './stand-in.ts';

const KIB = 1024;
const ESTIMATE: Record<string, number> = {
  DateTimeFormat: 32 * KIB,
  Segmenter: 8 * KIB,
  v8BreakIterator: 8 * KIB,
  Collator: 2 * KIB,
};
const SEGMENTS = 4 * KIB;
const OTHER = 1 * KIB;

const budget = new NativeBudget();

function reserve(holder: object, bytes: number, what: string): void {
  budget.reserve(
    holder,
    bytes,
    (left) =>
      `Memory limit exceeded: ${what} holds ~${bytes / KIB} KiB outside the JavaScript heap, ${Math.max(0, Math.floor(left / KIB))} KiB of the isolate's ${budget.budget / KIB / KIB} MB left for Intl objects`,
  );
}

/** Replace a method so what it returns reserves `bytes`. */
function reserving(proto: object, key: PropertyKey, bytes: number, what: string): void {
  const d = Object.getOwnPropertyDescriptor(proto, key);
  if (!d || typeof d.value !== 'function') return;
  const original = d.value as (...a: unknown[]) => object;
  const wrapped = {
    [key](this: unknown, ...args: unknown[]) {
      const out = Reflect.apply(original, this, args);
      reserve(out, bytes, what);
      return out;
    },
  }[key as string];
  Object.defineProperty(proto, key, { ...d, value: wrapped });
}

export function installIntlLimits(memoryLimitMb: number): void {
  budget.budget = memoryLimitMb * KIB * KIB;
  const intl = Intl as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(intl)) {
    const Original = intl[name];
    if (typeof Original !== 'function' || !Original.prototype) continue;
    const bytes = ESTIMATE[name] ?? OTHER;
    const what = `an Intl.${name}`;
    // Some (DateTimeFormat, NumberFormat, Collator) may be called without `new`.
    const takesList = name !== 'Locale';
    const Wrapper = function (this: unknown, ...args: unknown[]) {
      // A locale list is read in JavaScript first (lists.ts): V8's own walk cannot be stopped.
      if (takesList && args.length > 0) args[0] = localeList(args[0]);
      const made = new.target
        ? Reflect.construct(Original, args, new.target)
        : Reflect.apply(Original, this, args);
      if (made !== null && typeof made === 'object' && made !== this) reserve(made, bytes, what);
      return made;
    };
    standIn(Wrapper, Original);
    Object.defineProperty(intl, name, { ...Object.getOwnPropertyDescriptor(intl, name)!, value: Wrapper });
  }
  // Each segment() result and each iterator over it is a copy of the segmenter's break iterator.
  const Segmenter = intl.Segmenter as { prototype: { segment(s: string): object } } | undefined;
  if (Segmenter) {
    const segments = Segmenter.prototype.segment.call(new (Segmenter as any)('en'), '');
    reserving(Segmenter.prototype, 'segment', SEGMENTS, 'a segment() result');
    reserving(Object.getPrototypeOf(segments), Symbol.iterator, SEGMENTS, 'a segment iterator');
  }
}
