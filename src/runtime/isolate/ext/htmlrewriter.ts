/**
 * HTMLRewriter (https://developers.cloudflare.com/workers/runtime-apis/html-rewriter/): the
 * Workers API over html-rewriter-wasm (lol-html compiled to WebAssembly, the parser Workers
 * uses). The wasm module is compiled in the isolate on first use (~12 ms of the worker's CPU
 * here) and instantiated once per isolate; each transform() gets its own rewriter.
 */
import { HTMLRewriter as Raw } from 'html-rewriter-wasm';

type Handlers = Record<string, unknown>;
const g = globalThis as any;

function checkHandlers(h: unknown, what: string): Handlers {
  if (h === null || typeof h !== 'object')
    throw new TypeError(`Failed to execute '${what}' on 'HTMLRewriter': handlers must be an object.`);
  return h as Handlers;
}

function bytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('HTMLRewriter: the response body must be bytes.');
}

export class HTMLRewriter {
  #handlers: [string | null, Handlers][] = [];

  on(selector: string, handlers: Handlers): this {
    const h = checkHandlers(handlers, 'on');
    // Selectors are parsed now, so a bad one throws here as in Workers, not mid-response.
    const probe = new Raw(() => {});
    try {
      probe.on(String(selector), {});
    } catch (err) {
      throw new TypeError(`Invalid selector "${selector}": ${(err as Error).message}`);
    } finally {
      probe.free();
    }
    this.#handlers.push([String(selector), h]);
    return this;
  }

  onDocument(handlers: Handlers): this {
    this.#handlers.push([null, checkHandlers(handlers, 'onDocument')]);
    return this;
  }

  transform(response: unknown): any {
    if (!(response instanceof g.Response))
      throw new TypeError(
        "Failed to execute 'transform' on 'HTMLRewriter': parameter 1 is not of type 'Response'.",
      );
    const res = response as any;
    const handlers = this.#handlers;
    if (res.body === null) return new g.Response(null, res);
    let rewriter: Raw | null = null;
    const free = () => {
      rewriter?.free();
      rewriter = null;
    };
    const { readable, writable } = new g.TransformStream({
      start(controller: any) {
        // The sink's chunk is a view of wasm memory: copy before it is reused.
        rewriter = new Raw((chunk: Uint8Array) => {
          if (chunk.byteLength > 0) controller.enqueue(chunk.slice());
        });
        for (const [selector, h] of handlers) {
          if (selector === null) rewriter.onDocument(h as never);
          else rewriter.on(selector, h as never);
        }
      },
      async transform(chunk: unknown) {
        await rewriter!.write(bytes(chunk));
      },
      async flush() {
        try {
          await rewriter!.end();
        } finally {
          free();
        }
      },
    });
    outpost.promises.catchOf(res.body.pipeTo(writable), () => free());
    const out = new g.Response(readable, res);
    out.headers.delete('content-length');
    return out;
  }
}
