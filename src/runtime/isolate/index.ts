/**
 * The runtime prelude: code that runs inside every isolate before tenant code. It installs the
 * Workers/Web API globals and exposes one function, `__outpost_init`, which the host calls once
 * with the syscalls; it removes itself and returns the entry points the host calls afterwards.
 *
 * Nothing here may hand tenant code a host object: syscalls stay in bridge.ts's closure.
 */

import { RING_ENTRIES, type RingEntry } from '../ring-entries.ts';
import { AbortController, AbortSignal } from './abort.ts';
import { installArrayGuard } from './array-guard.ts';
import { __outpostFrames } from './await-frames.ts';
import { Blob, File } from './blob.ts';
import { type HostBridge, host, hostDone, installBridge } from './bridge.ts';
import { installBufferLimits } from './buffers.ts';
import { Cache, CacheStorage, caches } from './cache.ts';
import { installClock, now, tick } from './clock.ts';
import { installCodegenGuard } from './codegen.ts';
import { console } from './console.ts';
import {
  installContextPropagation,
  isIntrinsicPromise,
  resolvedIntrinsic,
  shareRunning,
  thenIntrinsic,
} from './context.ts';
import { checkDepth } from './depth.ts';
import './cloudflare.ts';
// `cloudflare:workflows` (NonRetryableError) for every worker; a Workflow's run is a part.
import './workflows/errors.ts';
import './sockets.ts';
import { Crypto, crypto } from './crypto.ts';
import {
  beginLoad,
  cancel,
  dispatch,
  event,
  finishLoad,
  forget,
  type LoadOptions,
  load,
  pull,
  registerGlobalListener,
  reportError,
  rpc,
  settle,
  warmup,
} from './dispatch.ts';
import { atob, btoa, TextDecoder, TextEncoder } from './encoding.ts';
import { CustomEvent, DOMException, Event, EventTarget } from './events.ts';
import { fetch } from './fetch.ts';
import { FormData } from './formdata.ts';
import { Headers } from './headers.ts';
import { installIntlLimits } from './intl.ts';
import { installListGuards } from './lists.ts';
import { lazyGlobal, loadExtension, requireModule } from './modules.ts';
import {
  afterRingTask,
  type Complete,
  type OutcomeKind,
  PRELUDE_VALUE,
  RESPONSE,
  report,
  setComplete,
  TENANT_VALUE,
} from './outbox.ts';
import { installPart } from './parts.ts';
import { Request } from './request.ts';
import { Response } from './response.ts';
import { installRing, ring } from './ring.ts';
import { installLazyStreams } from './streams.ts';
import { CryptoKey, SubtleCrypto } from './subtle.ts';
import { clearInterval, clearTimeout, queueMicrotask, scheduler, setInterval, setTimeout } from './timers.ts';
import {
  makeFixedLengthStream,
  makeIdentityTransformStream,
  makeTextDecoderStream,
  makeTextEncoderStream,
} from './transforms.ts';
import { URL, URLSearchParams } from './url.ts';
import { installWasmLimits } from './wasm.ts';
import {
  CloseEvent,
  ErrorEvent,
  MessageEvent,
  WebSocket,
  WebSocketPair,
  WebSocketRequestResponsePair,
  wsEvent,
} from './websocket.ts';

const g = globalThis as any;

function define(name: string, value: unknown) {
  Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
}

/** Options with no prototype: isolated-vm must not read a tenant's Object.prototype properties. */
const NO_OPTIONS = Object.freeze({ __proto__: null });

function structuredClone(value: unknown, options?: { transfer?: unknown[] }): unknown {
  const { ExternalCopy } = host.ivm;
  const transfer = options?.transfer ?? [];
  for (const t of transfer) {
    if (!(t instanceof ArrayBuffer))
      throw new DOMException('structuredClone: only ArrayBuffers can be transferred', 'DataCloneError');
  }
  try {
    // Transferring the value itself (what stream implementations do): move, do not copy.
    if (transfer.length === 1 && value === transfer[0])
      return new ExternalCopy(value, { __proto__: null, transferOut: true }).copy({
        __proto__: null,
        transferIn: true,
      });
    const copy = new ExternalCopy(value, NO_OPTIONS).copy(NO_OPTIONS);
    for (const t of transfer) new ExternalCopy(t, { __proto__: null, transferOut: true }).release(); // detach, as a transfer does
    return copy;
  } catch (err) {
    throw new DOMException(`structuredClone: ${(err as Error).message}`, 'DataCloneError');
  }
}

const timeOrigin = Date.now();
const performance = {
  timeOrigin,
  // Millisecond resolution, as Workers coarsens timers against side channels.
  now: () => now() - timeOrigin,
  toJSON: () => ({ timeOrigin }),
};

// Captured before tenant code runs: the entry loop must not go through anything it can replace
// (a replaced Array.prototype[Symbol.iterator] would otherwise see every call's arguments).
const applyIntrinsic = Reflect.apply;
const sliceIntrinsic = Array.prototype.slice;

/**
 * Wrap an entry function: called with a batch [[callId, ...args], ...], each outcome reported.
 * `kind`: what its outcome is (outbox.ts: a response tuple, `{ value, … }` holding a value of
 * the tenant's, or the prelude's own value).
 * Each call runs at once, in the batch's task (a microtask per call cost ~0.6 µs a request);
 * what it awaits runs after, as the events of one task do.
 */
function entry(fn: (...args: any[]) => unknown, kind: OutcomeKind = PRELUDE_VALUE) {
  return (batch: unknown[][]) => {
    tick();
    for (let i = 0; i < batch.length; i++) {
      const call = batch[i];
      const callId = call[0];
      let out: unknown;
      try {
        out = applyIntrinsic(fn, undefined, applyIntrinsic(sliceIntrinsic, call, [1]));
      } catch (err) {
        report(callId, false, err);
        continue;
      }
      // Intrinsics only: a tenant that replaced Promise.prototype.then must not see or change
      // the outcomes (a response tuple names the WebSocket handed to the PoP).
      if (isIntrinsicPromise(out))
        thenIntrinsic(
          out,
          (value) => report(callId, true, value, kind),
          (err) => report(callId, false, err),
        );
      else report(callId, true, out, kind);
    }
  };
}

/**
 * Module bundles (src/runtime/load.ts). The host calls beginModule before it evaluates
 * the bundle; the bundle's entry then hands over its exports through `outpost:runtime`
 * (src/runtime/bundle-modules.ts): `loaded(exports)`, or `loading(promise)` with top-level
 * await. The outcome (the format, or the error) goes to the host as the outcome of call `id`.
 */
let moduleCall = 0;

function beginModule(id: number, envData: Record<string, unknown>, hint: string, options: LoadOptions): void {
  tick();
  moduleCall = id;
  beginLoad(envData, hint, options);
}

function takeModuleCall(): number {
  const id = moduleCall;
  if (id === 0) throw new TypeError('This worker has already loaded.');
  moduleCall = 0;
  return id;
}

function moduleLoaded(exported: Record<string, any>): void {
  const id = takeModuleCall();
  try {
    report(id, true, finishLoad(exported));
  } catch (err) {
    report(id, false, err);
  }
}

function moduleLoading(pending: Promise<Record<string, any>>): void {
  const id = takeModuleCall();
  thenIntrinsic(
    resolvedIntrinsic(pending),
    (exported) => {
      try {
        report(id, true, finishLoad(exported as Record<string, any>));
      } catch (err) {
        report(id, false, err);
      }
    },
    (err) => report(id, false, err),
  );
}

/** Give the isolate's `outpost:runtime` module (made by the pool) the functions it forwards to. */
function linkRuntime(namespace: { __init(...fns: unknown[]): void }): void {
  namespace.__init(requireModule, moduleLoaded, moduleLoading, __outpostFrames);
  // Run the load path once here, in the pool: V8 compiles its functions lazily, which cost ~0.1 ms
  // of the tenant's cold start (measured). The tenant's load sets all of this state again.
  beginLoad({}, 'modules', { compatibilityFlags: [], bindings: {} }, false);
  finishLoad({ default: { fetch() {} } });
}

function init(
  ivm: unknown,
  log: any,
  urlParse: any,
  urlSet: any,
  random: any,
  limit: any,
  cancelBody: any,
  abortFetch: any,
  post: any,
  sys: any,
  completeCb: Complete,
  strayCb: (stack: string) => void,
  settings: HostBridge['settings'],
  runningBuffer: SharedArrayBuffer,
) {
  delete g.__outpost_init;
  setComplete(completeCb);
  shareRunning(runningBuffer);
  installBridge({
    ivm,
    log,
    urlParse,
    urlSet,
    random,
    limit,
    cancelBody,
    abortFetch,
    post,
    sys,
    settings,
  });
  installWasmLimits(settings.memoryLimitMb);
  installBufferLimits(g, settings.memoryLimitMb);
  installIntlLimits(settings.memoryLimitMb);
  installListGuards();
  const api = {
    load: (...args: Parameters<typeof load>) => {
      tick();
      return load(...args);
    },
    beginModule,
    installPart,
    linkRuntime,
    dispatch: entry(dispatch, RESPONSE),
    pull: entry(pull),
    cancel,
    settle: entry(settle),
    rpc: entry(rpc, TENANT_VALUE),
    event: entry(event, TENANT_VALUE),
    wsEvent: entry(wsEvent),
    forget,
    warmup: entry(warmup),
    hostDone,
    ring,
  };
  // Fire-and-forget entries take their arguments as the item itself.
  const plain = (fn: (...args: any[]) => void) => (batch: unknown[][]) =>
    applyIntrinsic(fn, undefined, batch[0]);
  const byName: Record<RingEntry, (batch: unknown[][]) => void> = {
    ...api,
    hostDone: hostDone as (batch: unknown[][]) => void,
    cancel: plain(cancel),
    forget: plain(forget),
  };
  installRing(
    (ivm as { Reference: any }).Reference,
    RING_ENTRIES.map((name) => byName[name]),
    strayCb,
    afterRingTask,
  );
  return api;
}

const globals: Record<string, unknown> = {
  self: g,
  AbortController,
  AbortSignal,
  Blob,
  Cache,
  CacheStorage,
  Crypto,
  CryptoKey,
  CloseEvent,
  CustomEvent,
  DOMException,
  ErrorEvent,
  Event,
  EventTarget,
  File,
  FormData,
  Headers,
  MessageEvent,
  Request,
  Response,
  SubtleCrypto,
  TextDecoder,
  TextEncoder,
  URL,
  URLSearchParams,
  WebSocket,
  WebSocketPair,
  WebSocketRequestResponsePair,
  atob,
  btoa,
  caches,
  clearInterval,
  clearTimeout,
  console,
  crypto,
  fetch,
  performance,
  queueMicrotask,
  reportError,
  scheduler,
  setInterval,
  setTimeout,
  structuredClone,
  navigator: Object.freeze({ userAgent: 'Cloudflare-Workers', hardwareConcurrency: 1, language: 'en' }),
};
// Before any tenant code: promises carry the invocation they were made for (context.ts).
installContextPropagation();
installClock(g);
installArrayGuard(g);
installCodegenGuard(g);
for (const [name, value] of Object.entries(globals)) define(name, value);
installLazyStreams(g);
lazyGlobal(g, 'TextEncoderStream', makeTextEncoderStream);
lazyGlobal(g, 'TextDecoderStream', makeTextDecoderStream);
lazyGlobal(g, 'IdentityTransformStream', makeIdentityTransformStream);
lazyGlobal(g, 'FixedLengthStream', makeFixedLengthStream);
lazyGlobal(g, 'CompressionStream', () => loadExtension('compression').CompressionStream);
lazyGlobal(g, 'DecompressionStream', () => loadExtension('compression').DecompressionStream);
lazyGlobal(g, 'URLPattern', () => loadExtension('urlpattern').URLPattern);
lazyGlobal(g, 'HTMLRewriter', () => loadExtension('htmlrewriter').HTMLRewriter);
lazyGlobal(g, 'EventSource', () => loadExtension('eventsource').makeEventSource());

// Atomics.wait would park one of the host's isolate threads without using CPU (the CPU limit
// would never see it). Workers, like a browser's main thread, do not allow blocking waits.
const atomicsWait = () => {
  throw new TypeError('Atomics.wait cannot be called in this context');
};
Object.defineProperty(Atomics, 'wait', {
  value: atomicsWait,
  writable: true,
  configurable: true,
  enumerable: false,
});

// The global scope is an EventTarget for service-worker syntax ('fetch' listeners).
const globalTarget = new EventTarget();
// Methods: each has its name (`addEventListener.name`) and, as on Workers, is no constructor.
const globalEvents = {
  addEventListener(type: string, listener: unknown, options?: unknown): void {
    if (!registerGlobalListener(String(type), listener))
      globalTarget.addEventListener(type, listener as any, options as any);
  },
  removeEventListener(type: string, listener: unknown): void {
    globalTarget.removeEventListener(type, listener as any);
  },
  dispatchEvent(e: Event): boolean {
    return globalTarget.dispatchEvent(e);
  },
};
define('addEventListener', globalEvents.addEventListener);
define('removeEventListener', globalEvents.removeEventListener);
define('dispatchEvent', globalEvents.dispatchEvent);

define('__outpost_init', init);
