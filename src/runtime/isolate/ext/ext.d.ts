/** Free variables of an extension's wrapper function (see src/runtime/extensions.ts). */
declare const outpost: {
  /** The prelude's async-function helper (isolate/async.ts); extensions.ts points esbuild's at it. */
  asyncHelper: unknown;
  /** `p.then(f, r)` / `p.catch(r)` through the prelude's intrinsics (any value as `p`; no method named `then`: not a thenable). */
  promises: {
    thenOf(
      p: unknown,
      onFulfilled?: ((v: any) => unknown) | null,
      onRejected?: ((e: any) => unknown) | null,
    ): Promise<any>;
    catchOf(p: unknown, onRejected: (e: any) => unknown): Promise<any>;
    /** The Web Streams polyfill's captures, rewritten (src/runtime/extensions.ts, polyfillPromises). */
    thenOfPromise(p: Promise<unknown>, onFulfilled?: unknown, onRejected?: unknown): Promise<any>;
    resolve(v: unknown): Promise<any>;
    reject(e: unknown): Promise<never>;
  };
  /** esbuild's async-generator helpers on intrinsics (src/runtime/helper-shapes.ts). */
  asyncGenerators: unknown;
  /** A synchronous syscall by name (errors rebuilt with their types). */
  sys(name: string, ...args: unknown[]): any;
  /** console.log's formatting (util.format / util.inspect). */
  format(args: unknown[]): string;
  /** The request context (src/runtime/isolate/context.ts). */
  context: {
    currentFrame(): ContextFrame | undefined;
    withStores(base: ContextFrame | undefined, stores: ReadonlyMap<unknown, unknown> | null): ContextFrame;
    enter<T>(frame: ContextFrame | undefined, fn: () => T): T;
    bind<F extends (...args: any[]) => any>(fn: F, frame: ContextFrame | undefined): F;
    replace(frame: ContextFrame | undefined): void;
  };
  /** process.env's contents (text vars and secrets, when the compatibility date allows). */
  processEnv(): Record<string, string>;
  /** A runtime module by id (`node:path`), or undefined. */
  builtinModule(id: string): unknown;
  /** Whether node:http's server half (cloudflare:node) is on for this worker. */
  httpServer(): boolean;
  /** cloudflare:sockets' connect(). */
  connect(address: unknown, options: unknown): any;
};
type ContextFrame = {
  readonly id: number;
  readonly stores: ReadonlyMap<unknown, unknown> | null;
  readonly span: number;
  readonly txn: number;
};

/** Globals the prelude defines before any extension runs (see ../index.ts). */
declare const crypto: {
  getRandomValues<T extends ArrayBufferView>(a: T): T;
  randomUUID(): string;
  subtle: unknown;
};
declare function queueMicrotask(fn: () => void): void;
declare const console: { log(...a: unknown[]): void; warn(...a: unknown[]): void };
declare const performance: { now(): number };
type BufferEncoding =
  | 'utf8'
  | 'utf-8'
  | 'hex'
  | 'base64'
  | 'base64url'
  | 'latin1'
  | 'binary'
  | 'ascii'
  | 'ucs2'
  | 'utf16le';

declare module 'events' {
  const events: any;
  export default events;
}
declare module 'readable-stream' {
  const stream: any;
  export default stream;
}
declare module 'string_decoder' {
  export const StringDecoder: any;
}
declare module 'node:buffer' {
  export const Buffer: any;
  type Buffer = any;
}
declare module 'path-browserify' {
  const path: any;
  export default path;
}
declare module 'querystring-es3' {
  const qs: any;
  export default qs;
}
declare module 'url' {
  const url: any;
  export default url;
}
declare module 'node:stream' {
  export const Readable: any;
  export const Writable: any;
  export const Duplex: any;
  export const Transform: any;
  export const PassThrough: any;
  export const pipeline: any;
  const stream: any;
  export default stream;
}
declare module 'node:events' {
  export const EventEmitter: any;
  const events: any;
  export default events;
}
declare module 'node:http' {
  export const makeClient: any;
  export const Agent: any;
  export const Server: any;
  export const createServer: any;
  const http: any;
  export default http;
}
declare module 'node:net' {
  export const Socket: any;
  export const connect: any;
  export const normalize: any;
  const net: any;
  export default net;
}
