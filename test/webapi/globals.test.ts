// Globals beyond fetch: URLPattern, navigator, performance, scheduler, reportError,
// DOMException, Intl, structuredClone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

describe('web globals', () => {
  it('URLPattern matches and extracts groups', async () => {
    const out = await h.run(`
      const p = new URLPattern({ pathname: '/books/:id(\\\\d+)' });
      return [p.test('https://x/books/12'), p.exec('https://x/books/12').pathname.groups.id, p.test('https://x/books/abc')];`);
    assert.deepEqual(out, [true, '12', false]);
  });
  it('every global function and class has the name it is reached by, as on Workers', async () => {
    // The prelude is bundled from many files: a function esbuild renamed (a collision between
    // files, or with a global another file calls) must still carry its own name.
    const out = await h.run(`
      const wrong = [];
      for (const key of Object.getOwnPropertyNames(globalThis)) {
        const v = globalThis[key];
        if (typeof v === 'function' && v.name !== key) wrong.push(key + ' is named ' + JSON.stringify(v.name));
      }
      const made = [new Headers(), new Response('x'), new Request('https://x/'), new AbortController().signal,
        new ReadableStream().getReader(), new TransformStream().writable.getWriter(), new Blob([]), new FormData()];
      const constructible = ['addEventListener', 'removeEventListener', 'dispatchEvent', 'clearInterval'].filter((n) => {
        try { new globalThis[n](); return true; } catch { return false; }
      });
      return [wrong, made.map((o) => o.constructor.name), constructible];`);
    assert.deepEqual(out, [
      [],
      [
        'Headers',
        'Response',
        'Request',
        'AbortSignal',
        'ReadableStreamDefaultReader',
        'WritableStreamDefaultWriter',
        'Blob',
        'FormData',
      ],
      [],
    ]);
  });
  it('navigator.userAgent and performance.now', async () => {
    const out = await h.run(`
      const a = performance.now(); await scheduler.wait(20); const b = performance.now();
      return [navigator.userAgent, b - a >= 15, Number.isInteger(a), typeof performance.timeOrigin];`);
    assert.deepEqual(out, ['Cloudflare-Workers', true, true, 'number']);
  });
  it('scheduler.wait waits', async () => {
    const out = await h.run(`const t = Date.now(); await scheduler.wait(30); return Date.now() - t;`);
    assert.ok(out >= 25, `waited ${out} ms`);
  });
  it('a delay past 2^31 - 1 ms fires at once, as on Node (not after 24.8 days)', async () => {
    const out = await h.run(`
      const t = Date.now();
      await scheduler.wait(2 ** 31);
      await new Promise((r) => setTimeout(r, 4294967295));
      await new Promise((r) => setTimeout(r, 1e308));
      return Date.now() - t;`);
    assert.ok(out < 1000, `waited ${out} ms`);
  });
  it('cleared timers free their host timer: 20,000 armed and cleared, then timers still work', async () => {
    // The host keeps at most 10,000 live timers per isolate; a cleared one used to hold its place
    // until it would have fired (here, 30 s later). Spread over four requests to one isolate so
    // no single request nears the CPU limit on a slow machine; the leak would still show by the last.
    for (let round = 0; round < 4; round++) {
      const out = await h.run(`
        for (let i = 0; i < 5000; i++) clearTimeout(setTimeout(() => {}, 30000));
        const iv = setInterval(() => {}, 30000); clearInterval(iv);
        await new Promise((r) => setTimeout(r, 1));
        return 'fired';`);
      assert.equal(out, 'fired', `round ${round}`);
    }
  });
  it('reportError logs without throwing', async () => {
    await h.run(`reportError(new Error('reported-marker')); return 1;`);
    assert.ok(h.dev.logs.some((l) => l.message.includes('reported-marker')));
  });
  it('DOMException has names, codes and is an Error', async () => {
    const out = await h.run(
      `const e = new DOMException('m', 'AbortError'); return [e.name, e.code, e.message, e instanceof Error];`,
    );
    assert.deepEqual(out, ['AbortError', 20, 'm', true]);
  });
  it('text decoding and query parsing use the intrinsics, not what the worker put in their place', async () => {
    const out = await h.run(`
      const text = 'a'.repeat(40) + 'é' + 'b'.repeat(40) + ' ' + 'c'.repeat(20000);
      const bytes = new TextEncoder().encode(text);
      const head = bytes.slice(0, 41);
      const rest = bytes.slice(41);
      const TA = Object.getPrototypeOf(Uint8Array.prototype);
      const saved = [String.fromCharCode, Reflect.apply, TA.subarray, TA.slice, TA.set];
      String.fromCharCode = () => 'X';
      Reflect.apply = () => 'X';
      TA.subarray = function () { return new Uint8Array(0); };
      TA.slice = function () { return new Uint8Array(0); };
      TA.set = function () {};
      try {
        const encoded = new TextEncoder().encode(text);
        const same = encoded.length === bytes.length && encoded.every((b, i) => b === bytes[i]);
        const whole = new TextDecoder().decode(bytes) === text;
        const d = new TextDecoder();
        const streamed = d.decode(head, { stream: true }) + d.decode(rest);
        const q = new URLSearchParams('q=caf%C3%A9+au+lait&r=plain').get('q');
        const bom = new TextDecoder().decode(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41));
        return [same, whole, streamed === text, q, bom];
      } finally {
        [String.fromCharCode, Reflect.apply, TA.subarray, TA.slice, TA.set] = saved;
      }`);
    assert.deepEqual(out, [true, true, true, 'café au lait', 'A']);
  });
  it('Intl formats as V8 provides', async () => {
    const out = await h.run(
      `return [new Intl.NumberFormat('en-US').format(1234.5), new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(new Date(0))];`,
    );
    assert.deepEqual(out, ['1,234.5', '1/1/1970']);
  });
  it('structuredClone copies maps, dates and cycles', async () => {
    const out = await h.run(`
      const o = { d: new Date(5), m: new Map([[1, 'a']]) }; o.self = o;
      const c = structuredClone(o);
      return [c.d.getTime(), c.m.get(1), c.self === c, c !== o];`);
    assert.deepEqual(out, [5, 'a', true, true]);
  });
});
