/** DOMException, Event and EventTarget (https://dom.spec.whatwg.org/), minimal but faithful. */
import { DOMExceptionRef } from './encoding.ts';

const LEGACY_CODES: Record<string, number> = {
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

export class DOMException extends Error {
  #name: string;
  constructor(message = '', name = 'Error') {
    super(message);
    this.#name = String(name);
  }
  override get name() {
    return this.#name;
  }
  get code() {
    return LEGACY_CODES[this.#name] ?? 0;
  }
}
DOMExceptionRef.ctor = DOMException;

const kStop = Symbol('stop');

export class Event {
  #type: string;
  #bubbles: boolean;
  #cancelable: boolean;
  #defaultPrevented = false;
  target: EventTarget | null = null;
  currentTarget: EventTarget | null = null;
  readonly timeStamp = Date.now();
  [kStop] = false;
  constructor(type: string, init: { bubbles?: boolean; cancelable?: boolean; composed?: boolean } = {}) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'Event': 1 argument required.");
    this.#type = String(type);
    this.#bubbles = !!init.bubbles;
    this.#cancelable = !!init.cancelable;
  }
  get type() {
    return this.#type;
  }
  get bubbles() {
    return this.#bubbles;
  }
  get cancelable() {
    return this.#cancelable;
  }
  get defaultPrevented() {
    return this.#defaultPrevented;
  }
  get eventPhase() {
    return this.currentTarget ? 2 : 0;
  }
  get isTrusted() {
    return false;
  }
  get composed() {
    return false;
  }
  preventDefault() {
    if (this.#cancelable) this.#defaultPrevented = true;
  }
  stopPropagation() {}
  stopImmediatePropagation() {
    this[kStop] = true;
  }
  composedPath() {
    return this.currentTarget ? [this.currentTarget] : [];
  }
}

export class CustomEvent extends Event {
  readonly detail: unknown;
  constructor(type: string, init: { detail?: unknown; bubbles?: boolean; cancelable?: boolean } = {}) {
    super(type, init);
    this.detail = init.detail ?? null;
  }
}

type Listener = ((e: Event) => unknown) | { handleEvent(e: Event): unknown };
interface Entry {
  listener: Listener;
  once: boolean;
}

export class EventTarget {
  #listeners = new Map<string, Entry[]>();
  addEventListener(
    type: string,
    listener: Listener | null,
    options: boolean | { once?: boolean; signal?: any } = {},
  ) {
    if (listener == null) return;
    const opts = typeof options === 'boolean' ? {} : options;
    if (opts.signal?.aborted) return;
    const list = this.#listeners.get(type) ?? [];
    if (list.some((e) => e.listener === listener)) return;
    list.push({ listener, once: !!opts.once });
    this.#listeners.set(type, list);
    opts.signal?.addEventListener('abort', () => this.removeEventListener(type, listener), { once: true });
  }
  removeEventListener(type: string, listener: Listener | null) {
    const list = this.#listeners.get(type);
    if (!list) return;
    const i = list.findIndex((e) => e.listener === listener);
    if (i >= 0) list.splice(i, 1);
  }
  dispatchEvent(event: Event): boolean {
    if (!(event instanceof Event))
      throw new TypeError("Failed to execute 'dispatchEvent': parameter 1 is not of type 'Event'.");
    event.target = this;
    event.currentTarget = this;
    const handler = (this as any)[`on${event.type}`];
    const list = [...(this.#listeners.get(event.type) ?? [])];
    if (typeof handler === 'function') list.unshift({ listener: handler, once: false });
    for (const entry of list) {
      if (entry.once) this.removeEventListener(event.type, entry.listener);
      try {
        if (typeof entry.listener === 'function') entry.listener.call(this, event);
        else entry.listener.handleEvent(event);
      } catch (err) {
        (globalThis as any).reportError?.(err);
      }
      if (event[kStop]) break;
    }
    event.currentTarget = null;
    return !event.defaultPrevented;
  }
}
