// Web Streams inside an isolate: the classes, the Workers-specific ones, compression checked
// against node:zlib, and a response streamed to a real client chunk by chunk.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const collect = `
async function collect(readable) {
  const chunks = [];
  for await (const c of readable) chunks.push(c);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0; for (const c of chunks) { out.set(c, o); o += c.byteLength; }
  return out;
}`;

describe('ReadableStream / WritableStream / TransformStream', () => {
  it('async iteration, tee and ReadableStream.from', async () => {
    const out = await h.run(`
      const [a, b] = ReadableStream.from(['x', 'y', 'z']).tee();
      const got = []; for await (const v of a) got.push(v);
      const reader = b.getReader(); const first = await reader.read();
      return [got, first.value];`);
    assert.deepEqual(out, [['x', 'y', 'z'], 'x']);
  });
  it("the polyfill's stack frames name its file (an extension, loaded on first use)", async () => {
    const out = await h.run(`
      try { ReadableStream.prototype.getReader.call({}); } catch (e) { return [e.name, e.stack]; }`);
    assert.equal(out[0], 'TypeError');
    assert.match(out[1], /outpost:ext\/streams\.js:\d+:\d+/);
    assert.doesNotMatch(out[1], /eval at loadExtension/);
  });
  it('byte streams serve BYOB readers', async () => {
    const out = await h.run(`
      const rs = new ReadableStream({ type: 'bytes', pull(c) { c.enqueue(new Uint8Array([1, 2, 3, 4])); c.close(); } });
      const r = rs.getReader({ mode: 'byob' });
      const { value } = await r.read(new Uint8Array(2));
      return [...value];`);
    assert.deepEqual(out, [1, 2]);
  });
  it('pipeThrough a TransformStream into a WritableStream', async () => {
    const out = await h.run(`
      const seen = [];
      await ReadableStream.from(['a', 'b']).pipeThrough(new TransformStream({ transform(c, ctl) { ctl.enqueue(c.toUpperCase()); } }))
        .pipeTo(new WritableStream({ write(c) { seen.push(c); } }));
      return seen;`);
    assert.deepEqual(out, ['A', 'B']);
  });
  it('TextEncoderStream and TextDecoderStream, with a character split across chunks', async () => {
    const out = await h.run(`${collect}
      const bytes = await collect(ReadableStream.from(['h\\ud83d', '\\ude00!']).pipeThrough(new TextEncoderStream()));
      const parts = [bytes.slice(0, 2), bytes.slice(2, 4), bytes.slice(4)];
      let text = ''; for await (const s of ReadableStream.from(parts).pipeThrough(new TextDecoderStream())) text += s;
      return [text, new TextEncoderStream().encoding];`);
    assert.deepEqual(out, ['h😀!', 'utf-8']);
  });
  it('IdentityTransformStream passes bytes and refuses strings', async () => {
    const out = await h.run(`${collect}
      const t = new IdentityTransformStream();
      const w = t.writable.getWriter(); w.write(new Uint8Array([7, 8])); w.close();
      return collect(t.readable);`);
    assert.deepEqual(out, Buffer.from([7, 8]));
    const e = await h.fails(`
      const t = new IdentityTransformStream();
      const w = t.writable.getWriter();
      t.readable.getReader().read().catch(() => {}); // a reader, so the write is taken
      await w.write('text');`);
    assert.equal(e.name, 'TypeError');
  });
  it('FixedLengthStream sets Content-Length and errors on a short body', async () => {
    const res = await h.raw(`
      const t = new FixedLengthStream(5);
      const w = t.writable.getWriter(); w.write(new TextEncoder().encode('hello')); w.close();
      return new Response(t.readable);`);
    assert.equal(res.headers.get('content-length'), '5');
    assert.equal(await res.text(), 'hello');
    const e = await h.fails(`${collect}
      const t = new FixedLengthStream(5);
      const w = t.writable.getWriter(); w.write(new Uint8Array(2)); w.close().catch(() => {});
      return collect(t.readable);`);
    assert.match(e.message, /2 bytes were written, 5 were declared/);
  });
});

describe('CompressionStream / DecompressionStream', () => {
  const text = 'edge '.repeat(2000);
  for (const [format, inflate] of [
    ['gzip', zlib.gunzipSync],
    ['deflate', zlib.inflateSync],
    ['deflate-raw', zlib.inflateRawSync],
  ] as const) {
    it(`${format}: node:zlib inflates what the isolate compressed`, async () => {
      const out = await h.run(
        `${collect} return collect(new Blob([input]).stream().pipeThrough(new CompressionStream('${format}')));`,
        text,
      );
      assert.ok(out.length < text.length / 10, `compressed to ${out.length} bytes`);
      assert.equal(inflate(out).toString(), text);
    });
  }
  for (const [format, deflate] of [
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['deflate-raw', zlib.deflateRawSync],
  ] as const) {
    it(`${format}: the isolate inflates what node:zlib compressed`, async () => {
      const out = await h.run(
        `return new Response(new Blob([Uint8Array.from(atob(input), (c) => c.charCodeAt(0))]).stream().pipeThrough(new DecompressionStream('${format}'))).text();`,
        deflate(Buffer.from(text)).toString('base64'),
      );
      assert.equal(out, text);
    });
  }
  it('corrupt and truncated input fail with a TypeError; unknown formats are refused', async () => {
    const corrupt = await h.fails(
      `return new Response(new Blob([new Uint8Array([1, 2, 3, 4, 5])]).stream().pipeThrough(new DecompressionStream('gzip'))).text();`,
    );
    assert.equal(corrupt.name, 'TypeError');
    const truncated = await h.fails(
      `return new Response(new Blob([Uint8Array.from(atob(input), (c) => c.charCodeAt(0))]).stream().pipeThrough(new DecompressionStream('gzip'))).text();`,
      zlib.gzipSync(Buffer.from(text)).subarray(0, 20).toString('base64'),
    );
    assert.equal(truncated.name, 'TypeError');
    const unknown = await h.fails(`return new CompressionStream('brotli');`);
    assert.equal(unknown.name, 'TypeError');
  });
});

describe('streamed responses', () => {
  it('10 chunks written 50 ms apart after the handler returned reach the client one by one', async () => {
    const started = performance.now();
    const res = await h.raw(`
      const { readable, writable } = new TransformStream();
      const w = writable.getWriter();
      (async () => {
        for (let i = 0; i < 10; i++) {
          await w.write(new TextEncoder().encode('chunk ' + i + '\\n'));
          await scheduler.wait(50);
        }
        await w.close();
      })();
      return new Response(readable, { headers: { 'content-type': 'text/plain' } });`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const ttfb = performance.now() - started;
    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const total = performance.now() - started;
    assert.equal(text.split('\n').filter(Boolean).length, 10);
    assert.ok(total >= 450, `total ${total.toFixed(0)} ms`);
    assert.ok(ttfb < total / 3, `first byte after ${ttfb.toFixed(0)} ms of ${total.toFixed(0)} ms`);
  });
});
