/**
 * EventSource (https://html.spec.whatwg.org/multipage/server-sent-events.html), as Workers has
 * it (https://developers.cloudflare.com/workers/runtime-apis/eventsource/): connects with the
 * global fetch, or with a binding's given as the Workers-specific `fetcher` option; parses the
 * event stream; reconnects after the server-set `retry` delay with `Last-Event-ID`.
 */
const g = globalThis as any;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

interface Init {
  withCredentials?: boolean;
  fetcher?: { fetch(input: unknown, init?: unknown): Promise<any> };
}

export function makeEventSource(): any {
  return class EventSource extends g.EventTarget {
    static readonly CONNECTING = CONNECTING;
    static readonly OPEN = OPEN;
    static readonly CLOSED = CLOSED;
    readonly CONNECTING = CONNECTING;
    readonly OPEN = OPEN;
    readonly CLOSED = CLOSED;
    #url: string;
    #state = CONNECTING;
    #withCredentials: boolean;
    #fetcher: Init['fetcher'];
    #retryMs = 3000;
    #lastEventId = '';
    #abort: any = null;
    onopen: ((e: unknown) => void) | null = null;
    onmessage: ((e: unknown) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;

    constructor(url: string, init: Init = {}) {
      super();
      let parsed: any;
      try {
        parsed = new g.URL(String(url));
      } catch {
        throw new g.DOMException(
          `Failed to construct 'EventSource': The URL '${url}' is invalid.`,
          'SyntaxError',
        );
      }
      this.#url = parsed.href;
      this.#withCredentials = !!init?.withCredentials;
      if (init?.fetcher !== undefined && typeof init.fetcher?.fetch !== 'function')
        throw new TypeError("Failed to construct 'EventSource': fetcher must have a fetch() method.");
      this.#fetcher = init?.fetcher;
      queueMicrotask(() => this.#connect());
    }

    get url(): string {
      return this.#url;
    }
    get readyState(): number {
      return this.#state;
    }
    get withCredentials(): boolean {
      return this.#withCredentials;
    }

    close(): void {
      this.#state = CLOSED;
      this.#abort?.abort();
    }

    #emit(e: any): void {
      try {
        this.dispatchEvent(e);
      } catch (err) {
        g.reportError(err);
      }
    }

    #fail(): void {
      this.#state = CLOSED;
      this.#emit(new g.Event('error'));
    }

    async #connect(): Promise<void> {
      if (this.#state === CLOSED) return;
      this.#abort = new g.AbortController();
      const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-store' };
      if (this.#lastEventId) headers['last-event-id'] = this.#lastEventId;
      let res: any;
      try {
        const f = this.#fetcher ? this.#fetcher.fetch.bind(this.#fetcher) : g.fetch;
        res = await f(this.#url, { headers, signal: this.#abort.signal });
      } catch {
        return this.#reconnect();
      }
      const type = String(res.headers.get('content-type') ?? '')
        .split(';')[0]
        .trim()
        .toLowerCase();
      if (res.status !== 200 || type !== 'text/event-stream' || !res.body) {
        if (res.body) outpost.promises.catchOf(res.body.cancel(), () => {});
        return this.#fail(); // the spec's "fail the connection": no reconnect
      }
      if (this.#state === CLOSED) return void outpost.promises.catchOf(res.body.cancel(), () => {});
      this.#state = OPEN;
      this.#emit(new g.Event('open'));
      try {
        await this.#read(res.body);
      } catch {
        // network error mid-stream: reconnect below
      }
      this.#reconnect();
    }

    #reconnect(): void {
      if (this.#state === CLOSED) return;
      this.#state = CONNECTING;
      this.#emit(new g.Event('error'));
      setTimeout(() => this.#connect(), this.#retryMs);
    }

    async #read(body: any): Promise<void> {
      const decoder = new g.TextDecoder();
      let buffer = '';
      let data = '';
      let event = '';
      let id: string | null = null;
      let first = true;
      const line = (l: string) => {
        if (l === '') {
          if (id !== null) this.#lastEventId = id;
          id = null;
          if (data !== '') {
            const e = new g.MessageEvent(event || 'message', { data: data.slice(0, -1) });
            Object.defineProperties(e, {
              lastEventId: { value: this.#lastEventId },
              origin: { value: new g.URL(this.#url).origin },
            });
            if (this.#state !== CLOSED) this.#emit(e);
          }
          data = '';
          event = '';
          return;
        }
        if (l.startsWith(':')) return;
        const i = l.indexOf(':');
        const field = i < 0 ? l : l.slice(0, i);
        let value = i < 0 ? '' : l.slice(i + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data += `${value}\n`;
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) this.#retryMs = Number(value);
      };
      // A reader, not `for await`: esbuild lowers that to a helper that reads `Promise.resolve`
      // and `then` as it runs, which tenant code may have replaced by then.
      const reader = body.getReader();
      // What leaving a `for await` early does (a return, a throw): the stream is cancelled.
      const cancel = () => outpost.promises.catchOf(reader.cancel(), () => {});
      for (;;) {
        const next: { done: boolean; value?: Uint8Array } = await reader.read();
        if (next.done) break;
        if (this.#state === CLOSED) {
          cancel();
          return;
        }
        try {
          buffer += decoder.decode(next.value, { stream: true });
          if (first && buffer.length > 0) {
            if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
            first = false;
          }
          let m: RegExpExecArray | null;
          const re = /\r\n|\n|\r(?!$)/g;
          let start = 0;
          while ((m = re.exec(buffer))) {
            line(buffer.slice(start, m.index));
            start = m.index + m[0].length;
          }
          buffer = buffer.slice(start);
        } catch (err) {
          cancel();
          throw err;
        }
      }
      // A final line without a newline is discarded, as is an event without its blank line.
    }
  };
}
