// R2 bucket bindings end to end: test/fixtures/r2 served by `outpost dev` (a copy, so its
// .outpost/r2 is its own), driven over HTTP — the bucket as a file server with the Headers forms
// of httpMetadata, onlyIf and range; each API corner with the texts Workers reports; a multipart
// object of two 5 MiB parts streamed back; `outpost r2 object` on the same files; and what is
// still there after a restart.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/program.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

let fixture: ReturnType<typeof copyFixture>;
let dev: TestDev;

const url = (path: string) => `${dev.url}${path}`;
const api = async (name: string) => (await fetch(url(`/api/${name}`))).json() as Promise<any>;
const md5 = (b: Uint8Array | string) => createHash('md5').update(b).digest('hex');

before(async () => {
  fixture = copyFixture('r2');
  dev = await startFixture(fixture.dir);
});
after(async () => {
  await dev?.close();
  fixture?.cleanup();
});

async function cli(...argv: string[]): Promise<{ code: number; out: Buffer; err: string }> {
  const out: Buffer[] = [];
  let err = '';
  const code = await runCli(argv, {
    out: (c) => void out.push(Buffer.from(c)),
    err: (t) => void (err += t),
  });
  return { code, out: Buffer.concat(out), err };
}

/** The byte pattern the fixture's multipart case uploads. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

describe('a bucket served over HTTP (the Headers forms)', () => {
  it('PUT stores the body with its HTTP and custom metadata; GET and HEAD answer it', async () => {
    const put = await fetch(url('/objects/docs/readme.txt'), {
      method: 'PUT',
      body: 'read me',
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'max-age=60',
        'x-meta-owner': 'ana',
      },
    });
    assert.equal(put.status, 200);
    const o: any = await put.json();
    assert.equal(o.etag, md5('read me'));
    assert.equal(o.httpEtag, `"${md5('read me')}"`);
    assert.deepEqual(o.httpMetadata, {
      contentType: 'text/plain; charset=utf-8',
      cacheControl: 'max-age=60',
    });
    assert.deepEqual(o.customMetadata, { owner: 'ana' });
    const got = await fetch(url('/objects/docs/readme.txt'));
    assert.equal(await got.text(), 'read me');
    assert.equal(got.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(got.headers.get('cache-control'), 'max-age=60');
    assert.equal(got.headers.get('etag'), o.httpEtag);
    assert.match(got.headers.get('server-timing') ?? '', /r2;dur=[\d.]+;desc="get BUCKET"/);
    const head = await fetch(url('/objects/docs/readme.txt'), { method: 'HEAD' });
    assert.deepEqual([head.status, head.headers.get('etag')], [200, o.httpEtag]);
    assert.equal((await fetch(url('/objects/docs/none'))).status, 404);
  });

  it('Range and conditional request headers: 206, 304, and a put that does not hold (412)', async () => {
    await fetch(url('/objects/digits'), { method: 'PUT', body: '0123456789' });
    const part = await fetch(url('/objects/digits'), { headers: { range: 'bytes=2-5' } });
    assert.deepEqual(
      [part.status, part.headers.get('content-range'), await part.text()],
      [206, 'bytes 2-5/10', '2345'],
    );
    const tail = await fetch(url('/objects/digits'), { headers: { range: 'bytes=-3' } });
    assert.equal(await tail.text(), '789');
    const etag = `"${md5('0123456789')}"`;
    const cached = await fetch(url('/objects/digits'), { headers: { 'if-none-match': etag } });
    assert.deepEqual([cached.status, cached.headers.get('etag')], [304, etag]);
    assert.equal(
      (await fetch(url('/objects/digits'), { headers: { 'if-none-match': '"other"' } })).status,
      200,
    );
    const guarded = await fetch(url('/objects/digits'), {
      method: 'PUT',
      body: 'x',
      headers: { 'if-match': '"stale"' },
    });
    assert.equal(guarded.status, 412);
    const created = await fetch(url('/objects/digits'), {
      method: 'PUT',
      body: 'x',
      headers: { 'if-none-match': '*' },
    });
    assert.equal(created.status, 412, 'If-None-Match: * stores only what does not exist');
    const updated = await fetch(url('/objects/digits'), {
      method: 'PUT',
      body: 'new',
      headers: { 'if-match': etag },
    });
    assert.equal(updated.status, 200);
    assert.equal(await (await fetch(url('/objects/digits'))).text(), 'new');
  });

  it('list: prefixes, a delimiter, pages with a cursor, metadata when included', async () => {
    for (const k of ['tree/a', 'tree/b/1', 'tree/b/2', 'tree/c', 'tree/d/1'])
      await fetch(url(`/objects/${k}`), {
        method: 'PUT',
        body: k,
        headers: { 'content-type': 'text/x-tree' },
      });
    const top: any = await (await fetch(url('/list?prefix=tree/&delimiter=/'))).json();
    assert.deepEqual(top.keys, ['tree/a', 'tree/c']);
    assert.deepEqual(top.delimitedPrefixes, ['tree/b/', 'tree/d/']);
    assert.deepEqual(top.metadata[0], [null, null], 'no metadata unless included');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await (
        await fetch(url(`/list?prefix=tree/&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`))
      ).json();
      assert.ok(page.keys.length <= 2);
      seen.push(...page.keys);
      cursor = page.cursor;
    } while (cursor);
    assert.deepEqual(seen, ['tree/a', 'tree/b/1', 'tree/b/2', 'tree/c', 'tree/d/1']);
    const list = async (q: string): Promise<any> => (await fetch(url(`/list?${q}`))).json();
    const meta = await list('prefix=tree/a&include=httpMetadata&include=customMetadata');
    assert.deepEqual(meta.metadata, [[{ contentType: 'text/x-tree' }, {}]]);
    assert.deepEqual((await list('startAfter=tree/c&prefix=tree/')).keys, ['tree/d/1']);
  });

  it('DELETE removes the object', async () => {
    await fetch(url('/objects/gone'), { method: 'PUT', body: 'x' });
    assert.equal((await fetch(url('/objects/gone'), { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(url('/objects/gone'))).status, 404);
    assert.equal(await api('deletes'), 0);
  });
});

describe('the Workers API', () => {
  it('R2Object: dates, checksums as ArrayBuffers (hex in JSON), writeHttpMetadata, a body read once', async () => {
    const r = await api('shape');
    const body = 'shape of things';
    assert.equal(r.put.etag, md5(body));
    assert.equal(r.put.uploadedIsDate, true);
    assert.ok(Math.abs(r.put.uploaded - Date.now()) < 60_000);
    assert.deepEqual(r.put.checksums, {
      md5: md5(body),
      sha256: createHash('sha256').update(body).digest('hex'),
    });
    assert.deepEqual(r.json, r.put.checksums);
    assert.deepEqual([r.md5Bytes, r.sha256Bytes], [16, 32]);
    assert.deepEqual(r.put.customMetadata, { owner: 'ana', count: '3' });
    assert.deepEqual(r.put.httpMetadata, {
      contentType: 'text/plain',
      cacheExpiry: '2030-01-01T00:00:00.000Z',
    });
    assert.equal(r.put.storageClass, 'Standard');
    assert.equal(r.put.hasBody, false);
    assert.deepEqual([r.text, r.bodyUsed], [body, true]);
    assert.match(r.again, /^TypeError: Body has already been used/);
    assert.deepEqual(r.headers, { 'content-type': 'text/plain', expires: 'Tue, 01 Jan 2030 00:00:00 GMT' });
  });

  it('put() takes strings, buffers, views, Blobs, streams and null; bodies read as json, blob, bytes', async () => {
    const r = await api('values');
    assert.deepEqual(
      [r.string, r.buffer, r.view, r.blob, r.stream, r.null],
      [6, 3, 3, [9, 'application/json'], 'stream', 0],
    );
    assert.equal(
      r.refused,
      "TypeError: Failed to execute 'put' on 'R2Bucket': parameter 2 is not of type 'ReadableStream or ArrayBuffer or ArrayBufferView or string or Blob'.",
    );
    assert.deepEqual(r.json, { a: [1] });
    assert.deepEqual(r.bytes, [...Buffer.from('héllo')]);
  });

  it('ranges and onlyIf in their object forms; a put whose condition fails answers null', async () => {
    const r = await api('conditions');
    assert.deepEqual([r.range, r.suffix, r.rangeField], ['234', '789', { offset: 8, length: 2 }]);
    assert.equal(r.matches, '0123456789');
    assert.deepEqual([r.notMatches.hasBody, r.notMatches.etag], [false, md5('0123456789')]);
    assert.equal(r.before, null);
    assert.deepEqual([r.putIfAbsent, r.putIfMatch, r.after], [null, 2, 'v2']);
    assert.match(r.quoted, /^TypeError: Conditional ETag should not be wrapped in quotes/);
  });

  it('errors read as Workers reports them', async () => {
    const r = await api('errors');
    assert.deepEqual(r, {
      longKey:
        'Error: put: The specified object name is not valid. (the key is 1025 bytes, the limit is 1024) (10020)',
      limit: 'Error: list: MaxKeys params must be positive integer <= 1000. (10022)',
      include: 'RangeError: Unsupported include value nope',
      range: 'Error: get: The requested range is not satisfiable (10039)',
      negative: 'RangeError: Invalid range. Starting offset (-1) must be greater than or equal to 0.',
      twoHashes: 'TypeError: You cannot specify multiple hashing algorithms.',
      badDigest: `Error: put: The MD5 checksum you specified did not match what we received.\nYou provided a MD5 checksum with value: ${'0'.repeat(32)}\nActual MD5 was: ${md5('x')} (10037)`,
      metadata: 'Error: put: Your metadata headers exceed the maximum allowed metadata size. (10012)',
      tooSmall:
        'Error: completeMultipartUpload: Your proposed upload is smaller than the minimum allowed object size. (part 1 is 4 bytes; every part but the last needs at least 5242880) (10011)',
      badPart:
        'Error: completeMultipartUpload: One or more of the specified parts could not be found. (part 1 has another etag) (10025)',
      partNumber: 'TypeError: Part number must be between 1 and 10000 (inclusive). Actual value was: 0',
      writeHttpMetadata:
        "TypeError: HTTP metadata unknown for key `listed`. Did you forget to add 'httpMetadata' to `include` when listing?",
      ssec: 'Error: ssecKey: R2 server-side encryption with a customer key is not supported by Outpost (docs/r2.md)',
    });
  });

  it('a binding without bucket_name is a bucket of the worker alone', async () => {
    assert.deepEqual(await api('scratch'), { scratch: 'scratch', inBucket: null });
  });

  it('multipart: 5 MiB parts, resumed by id, completed out of order; the object streams back', async () => {
    const r = await api('multipart');
    const parts = [pattern(5 * 1024 * 1024, 1), pattern(5 * 1024 * 1024, 2), pattern(1000, 3)];
    assert.deepEqual(
      r.parts,
      parts.map((p, i) => ({ partNumber: i + 1, etag: md5(p) })),
    );
    const etag = `${createHash('md5')
      .update(Buffer.concat(parts.map((p) => Buffer.from(md5(p), 'hex'))))
      .digest('hex')}-3`;
    assert.deepEqual([r.object.etag, r.object.size, r.object.checksums], [etag, 10_486_760, {}]);
    assert.deepEqual(r.object.customMetadata, { kind: 'multipart' });
    assert.equal(r.afterAbort, 'Error: uploadPart: The specified multipart upload does not exist. (10024)');
    assert.equal(r.never, null);
    const got = await fetch(url('/objects/big.bin'));
    assert.equal(got.headers.get('content-type'), 'application/octet-stream');
    const bytes = Buffer.from(await got.arrayBuffer());
    assert.equal(bytes.byteLength, 10_486_760);
    assert.equal(md5(bytes), md5(Buffer.concat(parts)));
    const across = await fetch(url('/objects/big.bin'), {
      headers: { range: `bytes=${5 * 1024 * 1024 - 2}-${5 * 1024 * 1024 + 1}` },
    });
    assert.deepEqual(
      [...Buffer.from(await across.arrayBuffer())],
      [...parts[0].subarray(-2), ...parts[1].subarray(0, 2)],
    );
  });
});

describe('outpost r2 object', () => {
  it('put, get and delete on the files the running server serves', async () => {
    const p = ['--project', fixture.dir];
    const file = join(fixture.dir, 'upload.txt');
    writeFileSync(file, 'from the command line');
    const put = await cli(
      'r2',
      'object',
      'put',
      'files/cli/note.txt',
      '--file',
      file,
      '--content-type',
      'text/markdown',
      ...p,
    );
    assert.equal(put.code, 0, put.err);
    assert.match(put.out.toString(), /Stored 21 bytes as "cli\/note.txt" in BUCKET/);
    const served = await fetch(url('/objects/cli/note.txt'));
    assert.deepEqual(
      [await served.text(), served.headers.get('content-type')],
      ['from the command line', 'text/markdown'],
    );
    await fetch(url('/objects/cli/from-worker'), { method: 'PUT', body: 'worker wrote this' });
    assert.equal(
      (await cli('r2', 'object', 'get', 'BUCKET/cli/from-worker', ...p)).out.toString(),
      'worker wrote this',
    );
    const out = join(fixture.dir, 'downloaded.txt');
    assert.equal((await cli('r2', 'object', 'get', 'BUCKET/cli/from-worker', '--file', out, ...p)).code, 0);
    assert.equal(readFileSync(out, 'utf8'), 'worker wrote this');
    assert.equal((await cli('r2', 'object', 'delete', 'BUCKET/cli/from-worker', ...p)).code, 0);
    assert.equal((await fetch(url('/objects/cli/from-worker'))).status, 404);
    const missing = await cli('r2', 'object', 'get', 'BUCKET/cli/from-worker', ...p);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /does not exist: "cli\/from-worker" in BUCKET/);
  });

  it('names what is wrong', async () => {
    const p = ['--project', fixture.dir];
    assert.match(
      (await cli('r2', 'object', 'get', 'NOPE/k', ...p)).err,
      /no R2 bucket "NOPE" .*r2_buckets has: BUCKET, SCRATCH/,
    );
    assert.match(
      (await cli('r2', 'object', 'get', 'BUCKET', ...p)).err,
      /give the object as <bucket>\/<key>/,
    );
    assert.match(
      (await cli('r2', 'object', 'put', 'BUCKET/k', ...p)).err,
      /give either --file FILE or --pipe/,
    );
    const file = join(fixture.dir, 'upload.txt');
    const bad = await cli('r2', 'object', 'put', 'BUCKET/k', '--file', file, '--storage-class', 'Cold', ...p);
    assert.match(
      bad.err,
      /put: Invalid Argument \(storage class "Cold": use Standard or InfrequentAccess\) \(10029\)/,
    );
  });
});

describe('after a restart', () => {
  it('objects are still there, multipart ones included', async () => {
    const before = await (await fetch(url('/objects/docs/readme.txt'))).text();
    await dev.close();
    dev = await startFixture(fixture.dir);
    assert.equal(await (await fetch(url('/objects/docs/readme.txt'))).text(), before);
    const big = await fetch(url('/objects/big.bin'), { method: 'HEAD' });
    assert.match(big.headers.get('etag') ?? '', /^"[0-9a-f]{32}-3"$/);
    const listed: any = await (await fetch(url('/list?prefix=tree/'))).json();
    assert.equal(listed.keys.length, 5);
    assert.equal(await (await fetch(url('/objects/cli/note.txt'))).text(), 'from the command line');
  });
});
