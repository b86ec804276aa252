/**
 * The runtime prelude: code that runs inside every isolate before tenant code. It installs the
 * Workers/Web API globals and exposes one function, `__outpost_init`, which the host calls once
 * with the syscalls; it removes itself and returns the entry points the host calls afterwards.
 *
 * Nothing here may hand tenant code a host object: syscalls stay in bridge.ts's closure.
 */
import { AbortController, AbortSignal } from './abort.ts';
import { type HostBridge, installBridge, host } from './bridge.ts';
import { console } from './console.ts';
import { crypto } from './crypto.ts';
import { cancel, dispatch, forget, load, pull, registerGlobalListener, reportError, settle } from './dispatch.ts';
import { atob, btoa, TextDecoder, TextEncoder } from './encoding.ts';
import { CustomEvent, DOMException, Event, EventTarget } from './events.ts';
import { fetch } from './fetch.ts';
import { Headers } from './headers.ts';
import { Request } from './request.ts';
import { Response } from './response.ts';
import { installLazyStreams } from './streams.ts';
import { clearInterval, clearTimeout, queueMicrotask, scheduler, setInterval, setTimeout } from './timers.ts';
import { URL, URLSearchParams } from './url.ts';
import { installWasmLimits } from './wasm.ts';

const g = globalThis as any;

function define(name: string, value: unknown) {
  Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
}

function structuredClone(value: unknown, options?: { transfer?: unknown[] }): unknown {
  const { ExternalCopy } = host.ivm;
  const transfer = options?.transfer ?? [];
  for (const t of transfer) {
    if (!(t instanceof ArrayBuffer)) throw new DOMException('structuredClone: only ArrayBuffers can be transferred', 'DataCloneError');
  }
  try {
    // Transferring the value itself (what stream implementations do): move, do not copy.
    if (transfer.length === 1 && value === transfer[0]) return new ExternalCopy(value, { transferOut: true }).copy({ transferIn: true });
    const copy = new ExternalCopy(value).copy();
    for (const t of transfer) new ExternalCopy(t, { transferOut: true }).release(); // detach, as a transfer does
    return copy;
  } catch (err) {
    throw new DOMException(`structuredClone: ${(err as Error).message}`, 'DataCloneError');
  }
}

const timeOrigin = Date.now();
const performance = {
  timeOrigin,
  // Millisecond resolution, as Workers coarsens timers against side channels.
  now: () => Date.now() - timeOrigin,
  toJSON: () => ({ timeOrigin }),
};

function init(ivm: unknown, log: any, urlParse: any, urlSet: any, random: any, limit: any, cancelBody: any, abortFetch: any, timer: any, fetchRef: any, read: any, settings: HostBridge['settings']) {
  delete g.__outpost_init;
  installBridge({ ivm, log, urlParse, urlSet, random, limit, cancelBody, abortFetch, timer, fetch: fetchRef, read, settings });
  installWasmLimits(settings.memoryLimitMb);
  return { load, dispatch, pull, cancel, settle, forget };
}

const globals: Record<string, unknown> = {
  self: g,
  AbortController, AbortSignal, CustomEvent, DOMException, Event, EventTarget, Headers, Request, Response,
  TextDecoder, TextEncoder, URL, URLSearchParams,
  atob, btoa, clearInterval, clearTimeout, console, crypto, fetch, performance, queueMicrotask, reportError,
  scheduler, setInterval, setTimeout, structuredClone,
  navigator: Object.freeze({ userAgent: 'Cloudflare-Workers', hardwareConcurrency: 1, language: 'en' }),
};
for (const [name, value] of Object.entries(globals)) define(name, value);
installLazyStreams(g);

// The global scope is an EventTarget for service-worker syntax ('fetch' listeners).
const globalTarget = new EventTarget();
define('addEventListener', (type: string, listener: unknown, options?: unknown) => {
  if (!registerGlobalListener(String(type), listener)) globalTarget.addEventListener(type, listener as any, options as any);
});
define('removeEventListener', (type: string, listener: unknown) => globalTarget.removeEventListener(type, listener as any));
define('dispatchEvent', (e: Event) => globalTarget.dispatchEvent(e));

define('__outpost_init', init);
