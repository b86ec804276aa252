// Blob, File, FormData and the Body mixin's readers, inside an isolate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

describe('Blob and File', () => {
  it('concatenates parts of every kind and slices', async () => {
    const out = await h.run(`
      const b = new Blob(['ab', new Uint8Array([99]), new Blob(['d']), new ArrayBuffer(1)], { type: 'Text/Plain' });
      const s = b.slice(1, 4, 'x/y');
      return { size: b.size, type: b.type, text: await s.text(), stype: s.type, bytes: await b.bytes(), tag: String(b) };`);
    assert.equal(out.size, 5);
    assert.equal(out.type, 'text/plain');
    assert.equal(out.text, 'bcd');
    assert.equal(out.stype, 'x/y');
    assert.deepEqual(out.bytes, Buffer.from([97, 98, 99, 100, 0]));
    assert.equal(out.tag, '[object Blob]');
  });
  it('streams its bytes', async () => {
    const out = await h.run(`
      let text = '';
      for await (const chunk of new Blob(['hello ', 'world']).stream()) text += new TextDecoder().decode(chunk);
      return text;`);
    assert.equal(out, 'hello world');
  });
  it('File has a name and lastModified, and is a Blob', async () => {
    const out = await h.run(`
      const f = new File(['x'], 'a.txt', { type: 'text/plain', lastModified: 42 });
      return [f.name, f.lastModified, f instanceof Blob, f.size];`);
    assert.deepEqual(out, ['a.txt', 42, true, 1]);
  });
  it('File needs a name', async () => {
    assert.equal((await h.fails(`return new File(['x']);`)).name, 'TypeError');
  });
  it('a Blob body sets Content-Type; response.blob() keeps it', async () => {
    const out = await h.run(`
      const r = new Response(new Blob(['{}'], { type: 'application/json' }));
      const b = await r.clone().blob();
      return [r.headers.get('content-type'), b.type, await b.text()];`);
    assert.deepEqual(out, ['application/json', 'application/json', '{}']);
  });
});

describe('FormData', () => {
  it('append, set, get, getAll, delete, has and iteration', async () => {
    const out = await h.run(`
      const f = new FormData();
      f.append('a', '1'); f.append('a', '2'); f.append('b', new Blob(['x']), 'x.bin');
      f.set('c', '3');
      const before = f.getAll('a');
      f.set('a', '9');
      f.delete('c');
      return { before, a: f.getAll('a'), b: [f.get('b').name, f.get('b') instanceof File], has: [f.has('c'), f.has('a')], keys: [...f.keys()], missing: f.get('zzz') };`);
    assert.deepEqual(out, {
      before: ['1', '2'],
      a: ['9'],
      b: ['x.bin', true],
      has: [false, true],
      keys: ['a', 'b'],
      missing: null,
    });
  });
  it('round-trips through a multipart body', async () => {
    const out = await h.run(`
      const f = new FormData();
      f.append('name', 'Ada\\nLovelace');
      f.append('file', new File(['bin\\r\\n--data'], 'é.txt', { type: 'text/plain' }));
      const req = new Request('http://x/', { method: 'POST', body: f });
      const ct = req.headers.get('content-type');
      const back = await req.formData();
      const file = back.get('file');
      return { ct, name: back.get('name'), file: [file.name, file.type, await file.text()] };`);
    assert.match(out.ct, /^multipart\/form-data; boundary=/);
    assert.equal(out.name, 'Ada\r\nLovelace');
    assert.deepEqual(out.file, ['é.txt', 'text/plain', 'bin\r\n--data']);
  });
  it('parses a multipart body encoded by undici (another implementation)', async () => {
    const form = new FormData();
    form.append('title', 'hello');
    form.append(
      'upload',
      new Blob([new Uint8Array([0, 1, 2, 255])], { type: 'application/octet-stream' }),
      'data.bin',
    );
    const parsed = await h.run(
      `const r = new Request('http://x/', { method: 'POST', body: new Uint8Array(input.body), headers: { 'content-type': input.ct } });
       const f = await r.formData();
       const up = f.get('upload');
       return { title: f.get('title'), name: up.name, type: up.type, bytes: await up.bytes() };`,
      await encodeWithUndici(form),
    );
    assert.deepEqual(parsed, {
      title: 'hello',
      name: 'data.bin',
      type: 'application/octet-stream',
      bytes: Buffer.from([0, 1, 2, 255]),
    });
  });
  it('parses urlencoded bodies', async () => {
    const out = await h.run(`
      const r = new Request('http://x/', { method: 'POST', body: 'a=1&b=x+y&a=%C3%A9', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      const f = await r.formData();
      return [f.getAll('a'), f.get('b')];`);
    assert.deepEqual(out, [['1', 'é'], 'x y']);
  });
  it('rejects bodies that are not forms, with a TypeError', async () => {
    const e = await h.fails(`return new Request('http://x/', { method: 'POST', body: 'x' }).formData();`);
    assert.equal(e.name, 'TypeError');
    assert.match(e.message, /Failed to parse body as FormData/);
    const e2 = await h.fails(
      `return new Request('http://x/', { method: 'POST', body: '--b\\r\\nbroken', headers: { 'content-type': 'multipart/form-data; boundary=b' } }).formData();`,
    );
    assert.equal(e2.name, 'TypeError');
  });
});

async function encodeWithUndici(form: FormData): Promise<{ body: number[]; ct: string }> {
  const r = new Request('http://x/', { method: 'POST', body: form });
  return { body: [...new Uint8Array(await r.arrayBuffer())], ct: r.headers.get('content-type')! };
}

describe('Body mixin', () => {
  it('text, json, arrayBuffer, bytes', async () => {
    const out = await h.run(`
      const mk = () => new Response('{"a":1}');
      return [await mk().text(), await mk().json(), (await mk().arrayBuffer()).byteLength, (await mk().bytes()) instanceof Uint8Array];`);
    assert.deepEqual(out, ['{"a":1}', { a: 1 }, 7, true]);
  });
  it('reading a body twice is a TypeError; bodyUsed tells', async () => {
    const e = await h.fails(`const r = new Response('x'); await r.text(); return r.text();`);
    assert.equal(e.name, 'TypeError');
    assert.match(e.message, /already been used/);
    assert.equal(await h.run(`const r = new Response('x'); await r.text(); return r.bodyUsed;`), true);
  });
  it('cloning a used body is a TypeError; clones read independently', async () => {
    assert.equal(
      (await h.fails(`const r = new Response('x'); await r.text(); return r.clone();`)).name,
      'TypeError',
    );
    const out = await h.run(`
      const r = new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('ab')); c.close(); } }));
      const c = r.clone();
      return [await r.text(), await c.text()];`);
    assert.deepEqual(out, ['ab', 'ab']);
  });
  it('a body given as text reads as UTF-8 encoding then decoding would: lone surrogates, a BOM, streams, clones', async () => {
    // Such a body stays text until something wants its bytes (src/runtime/isolate/body.ts).
    const out = await h.run(`
      const s = 'a\\ud800b\\u00e9\\u{1F600}';
      const bytes = async (r) => [...new Uint8Array(await r.arrayBuffer())];
      const streamed = async (r) => { const parts = []; for await (const c of r.body) parts.push(...c); return parts; };
      const r = new Response(s);
      const c = r.clone();
      return {
        text: await new Response(s).text(),
        bom: await new Response('\\uFEFFx').text(),
        bytes: await bytes(new Response(s)),
        streamed: await streamed(c),
        clone: await r.text(),
        type: new Response(s).headers.get('content-type'),
        jsonType: Response.json({ a: 'é' }).headers.get('content-type'),
        jsonText: await Response.json({ a: 'é' }).text(),
        request: await new Request('http://x/', { method: 'POST', body: s }).text(),
        used: await (async () => { const x = new Response('t'); await x.text(); return x.bodyUsed; })(),
      };`);
    const expected = [...Buffer.from('a\ufffdb\u00e9\u{1F600}', 'utf8')];
    assert.equal(out.text, 'a\ufffdb\u00e9\u{1F600}');
    assert.equal(out.bom, 'x');
    assert.deepEqual(out.bytes, expected);
    assert.deepEqual(out.streamed, expected);
    assert.equal(out.clone, 'a\ufffdb\u00e9\u{1F600}');
    assert.equal(out.type, 'text/plain;charset=UTF-8');
    assert.equal(out.jsonType, 'application/json');
    assert.equal(out.jsonText, '{"a":"é"}');
    assert.equal(out.request, 'a\ufffdb\u00e9\u{1F600}');
    assert.equal(out.used, true);
  });
  it('a locked stream body cannot be read', async () => {
    const e = await h.fails(`const r = new Response('x'); r.body.getReader(); return r.text();`);
    assert.equal(e.name, 'TypeError');
  });
});
