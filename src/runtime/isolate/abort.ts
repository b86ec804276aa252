/** AbortController/AbortSignal (https://dom.spec.whatwg.org/#aborting-ongoing-activities). */
import { DOMException, Event, EventTarget } from './events.ts';

const kAbort = Symbol('abort');

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason: unknown = undefined;
  onabort: ((e: Event) => void) | null = null;
  constructor(key?: symbol) {
    super();
    if (key !== kAbort) throw new TypeError('Illegal constructor');
  }
  get aborted() {
    return this.#aborted;
  }
  get reason() {
    return this.#reason;
  }
  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }
  [kAbort](reason: unknown) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason =
      reason === undefined ? new DOMException('The operation was aborted.', 'AbortError') : reason;
    this.dispatchEvent(new Event('abort'));
  }
  static abort(reason?: unknown): AbortSignal {
    const s = new AbortSignal(kAbort);
    s[kAbort](reason);
    return s;
  }
  static timeout(ms: number): AbortSignal {
    const s = new AbortSignal(kAbort);
    setTimeout(() => s[kAbort](new DOMException('The operation timed out.', 'TimeoutError')), ms);
    return s;
  }
  static any(signals: Iterable<AbortSignal>): AbortSignal {
    const s = new AbortSignal(kAbort);
    for (const input of signals) {
      if (input.aborted) {
        s[kAbort](input.reason);
        return s;
      }
      input.addEventListener('abort', () => s[kAbort](input.reason), { once: true });
    }
    return s;
  }
}

export class AbortController {
  readonly signal = new AbortSignal(kAbort);
  abort(reason?: unknown) {
    this.signal[kAbort](reason);
  }
}
