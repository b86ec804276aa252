// R2's storage part against the Workers API reference: every operation, R2's limits and error
// texts, conditions and ranges, multipart rules, and what survives closing and reopening the
// folder (and a crash between writing a body and committing its row).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { conditionalFromFields, conditionalFromHeaders, parseEtagHeader } from './conditions.ts';
import { R2_LIMITS, R2Error, R2InputError } from './limits.ts';
import { R2Buckets } from './store.ts';
import type { R2GetResult } from './types.ts';

const B = 'tenant:BUCKET';
const text = (s: string) => new TextEncoder().encode(s);
const md5 = (b: Uint8Array | string) => createHash('md5').update(b).digest('hex');
const read = async (r: R2GetResult | null) => Buffer.from((await r?.body?.bytes()) ?? []).toString();

/** An R2 failure with this code (and text, when given), as `<op>: <text> (<code>)`. */
function r2(code: number, re?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof R2Error, `expected an R2Error, got ${err}`);
    assert.equal(err.v4Code, code, err.message);
    if (re) assert.match(err.message, re);
    return true;
  };
}
const input = (kind: string, re: RegExp) => (err: unknown) => {
  assert.ok(err instanceof R2InputError, `expected an R2InputError, got ${err}`);
  assert.equal(err.kind, kind);
  assert.match(err.message, re);
  return true;
};

const dirs: string[] = [];
function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'outpost-r2-test-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let store: R2Buckets;
beforeEach(() => {
  store = new R2Buckets(folder(), { minPartBytes: 5 });
});
afterEach(() => store.close());

describe('put, head, get', () => {
  it('stores bytes with metadata; etag is the md5, versions change on overwrite', async () => {
    const before = Date.now();
    const put = await store.put(B, 'a/b.txt', text('hello'), {
      httpMetadata: { contentType: 'text/plain', cacheExpiry: 1_700_000_000_000 },
      customMetadata: { owner: 'ana' },
    });
    assert.ok(put);
    assert.equal(put.etag, md5('hello'));
    assert.deepEqual(put.checksums, { md5: md5('hello') });
    assert.equal(put.size, 5);
    assert.equal(put.storageClass, 'Standard');
    assert.equal(put.range, undefined);
    assert.ok(put.uploaded >= before);
    const head = await store.head(B, 'a/b.txt');
    assert.deepEqual(head, { ...put, range: { offset: 0, length: 5 } });
    const got = await store.get(B, 'a/b.txt');
    assert.deepEqual(got?.object.httpMetadata, { contentType: 'text/plain', cacheExpiry: 1_700_000_000_000 });
    assert.deepEqual(got?.object.customMetadata, { owner: 'ana' });
    assert.equal(await read(got), 'hello');
    const again = await store.put(B, 'a/b.txt', text('bye'));
    assert.notEqual(again?.version, put.version);
    assert.deepEqual(again?.httpMetadata, {});
    assert.equal(await read(await store.get(B, 'a/b.txt')), 'bye');
  });

  it('missing keys are null; buckets are apart; empty bodies are objects', async () => {
    assert.equal(await store.head(B, 'nope'), null);
    assert.equal(await store.get(B, 'nope'), null);
    await store.put(B, 'k', text('x'));
    assert.equal(await store.head('tenant:OTHER', 'k'), null);
    const empty = await store.put(B, 'empty', new Uint8Array(0));
    assert.equal(empty?.etag, md5(''));
    assert.equal(await read(await store.get(B, 'empty')), '');
  });

  it('ranges: offset/length, suffix, a Range header; unsatisfiable ones are 416', async () => {
    await store.put(B, 'r', text('0123456789'));
    const range = async (r: Parameters<R2Buckets['get']>[2]) => {
      const g = await store.get(B, 'r', r);
      return [await read(g), g?.object.range];
    };
    assert.deepEqual(await range({ range: { offset: 2, length: 3 } }), ['234', { offset: 2, length: 3 }]);
    assert.deepEqual(await range({ range: { offset: 7 } }), ['789', { offset: 7, length: 3 }]);
    assert.deepEqual(await range({ range: { length: 2 } }), ['01', { offset: 0, length: 2 }]);
    assert.deepEqual(await range({ range: { suffix: 4 } }), ['6789', { offset: 6, length: 4 }]);
    assert.deepEqual(await range({ range: { suffix: 40 } }), ['0123456789', { offset: 0, length: 10 }]);
    assert.deepEqual(await range({ range: { offset: 8, length: 50 } }), ['89', { offset: 8, length: 2 }]);
    assert.deepEqual(await range({ range: { header: 'bytes=1-3' } }), ['123', { offset: 1, length: 3 }]);
    assert.deepEqual(await range({ range: { header: 'bytes=-2' } }), ['89', { offset: 8, length: 2 }]);
    assert.deepEqual(await range({ range: { header: 'bytes=0-1,4-5' } }), [
      '0123456789',
      { offset: 0, length: 10 },
    ]);
    assert.deepEqual(await range({ range: { header: 'bytes=50-' } }), [
      '0123456789',
      { offset: 0, length: 10 },
    ]);
    await assert.rejects(store.get(B, 'r', { range: { offset: 11 } }), r2(10039, /not satisfiable/));
    await assert.rejects(store.get(B, 'r', { range: { suffix: 0 } }), r2(10039));
    await assert.rejects(
      store.get(B, 'r', { range: { offset: -1 } }),
      input('RangeError', /Starting offset \(-1\)/),
    );
    await assert.rejects(
      store.get(B, 'r', { range: { length: 1.5 } }),
      input('RangeError', /not floating point/),
    );
    await assert.rejects(
      store.get(B, 'r', { range: { suffix: 1, offset: 1 } }),
      input('TypeError', /Suffix is incompatible with offset/),
    );
  });

  it('a body being read survives an overwrite; its file goes once the read ends', async () => {
    await store.put(B, 'k', new Uint8Array(200_000).fill(7));
    const g = await store.get(B, 'k');
    await store.put(B, 'k', text('new'));
    const bodies = join(store.dir, 'bodies');
    assert.equal(readdirSync(bodies).length, 2, 'the old file is kept while read');
    assert.equal((await g?.body?.bytes())?.byteLength, 200_000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(readdirSync(bodies).length, 1);
  });
});

describe('conditions (onlyIf)', () => {
  it('get answers the object without a body when a condition fails', async () => {
    const o = await store.put(B, 'c', text('v1'));
    assert.ok(o);
    const g = (onlyIf: Parameters<typeof conditionalFromFields>[0]) =>
      store.get(B, 'c', { onlyIf: conditionalFromFields(onlyIf) });
    assert.notEqual((await g({ etagMatches: o.etag }))?.body, null);
    assert.equal((await g({ etagMatches: 'other' }))?.body, null);
    assert.equal((await g({ etagMatches: 'other' }))?.object.etag, o.etag);
    assert.equal((await g({ etagDoesNotMatch: o.etag }))?.body, null);
    assert.notEqual((await g({ etagDoesNotMatch: 'other' }))?.body, null);
    assert.equal((await g({ uploadedAfter: o.uploaded + 1000 }))?.body, null);
    assert.notEqual((await g({ uploadedAfter: o.uploaded - 1000 }))?.body, null);
    assert.equal((await g({ uploadedBefore: o.uploaded - 1000 }))?.body, null);
    // A matching etag wins over the date beside it (RFC 9110 §13.2.2).
    assert.notEqual((await g({ etagMatches: o.etag, uploadedBefore: o.uploaded - 1000 }))?.body, null);
    assert.equal((await g({ etagMatches: '*' }))?.body === null, false);
    assert.throws(
      () => conditionalFromFields({ etagMatches: `"${o.etag}"` }),
      input('TypeError', /should not be wrapped in quotes/),
    );
  });

  it('the Headers form: If-Match, If-None-Match (weak too), dates in whole seconds', async () => {
    const o = await store.put(B, 'h', text('v1'));
    assert.ok(o);
    const g = (h: Parameters<typeof conditionalFromHeaders>[0]) =>
      store.get(B, 'h', { onlyIf: conditionalFromHeaders(h) });
    assert.equal((await g({ 'if-none-match': `"x", W/"${o.etag}"` }))?.body, null);
    assert.notEqual((await g({ 'if-match': `"x", "${o.etag}"` }))?.body, null);
    assert.equal((await g({ 'if-match': `W/"${o.etag}"` }))?.body, null, 'If-Match compares strongly');
    assert.equal((await g({ 'if-none-match': '*' }))?.body, null);
    const at = new Date(o.uploaded).toUTCString();
    assert.equal((await g({ 'if-modified-since': at }))?.body, null, 'same second: not modified since');
    assert.deepEqual(parseEtagHeader(' "a,b" , , W/"c"'), [
      { type: 'strong', value: 'a,b' },
      { type: 'weak', value: 'c' },
    ]);
    assert.throws(() => parseEtagHeader('"a" "b"'), /Comma was expected to separate etags/);
    assert.throws(() => parseEtagHeader('"a'), /Unclosed double quote for Etag/);
    assert.throws(() => parseEtagHeader('W"a"'), /Weak etags must start with W\//);
    assert.throws(
      () => conditionalFromHeaders({ 'if-modified-since': 'yesterday' }),
      /not a valid HTTP date/,
    );
  });

  it('put stores only when the condition holds for what is there, else answers null', async () => {
    const create = conditionalFromFields({ etagDoesNotMatch: '*' });
    assert.ok(await store.put(B, 'p', text('first'), { onlyIf: create }));
    assert.equal(await store.put(B, 'p', text('second'), { onlyIf: create }), null);
    assert.equal(await read(await store.get(B, 'p')), 'first');
    assert.equal(
      await store.put(B, 'missing', text('x'), { onlyIf: conditionalFromFields({ etagMatches: 'x' }) }),
      null,
    );
    assert.equal(await store.head(B, 'missing'), null);
    assert.equal(readdirSync(join(store.dir, 'bodies')).filter((f) => !f.startsWith('.')).length, 1);
  });
});

describe("R2's limits and errors", () => {
  it('keys: not empty, valid UTF-8, at most 1,024 bytes', async () => {
    await assert.rejects(
      store.put(B, '', text('x')),
      r2(10020, /The specified object name is not valid\. \(the key is empty\)/),
    );
    await assert.rejects(
      store.put(B, 'é'.repeat(513), text('x')),
      r2(10020, /1026 bytes, the limit is 1024/),
    );
    await assert.rejects(store.head(B, '\ud800'), r2(10020, /not valid UTF-8/));
    assert.ok(await store.put(B, 'é'.repeat(512), text('x')));
    assert.equal(new R2Error(400, 'm', 10020).forOperation('put'), 'put: m (10020)');
  });

  it('custom metadata up to 8,192 bytes; storage classes; checksums', async () => {
    await assert.rejects(
      store.put(B, 'm', text('x'), { customMetadata: { k: 'v'.repeat(R2_LIMITS.MAX_METADATA_BYTES) } }),
      r2(10012, /Your metadata headers exceed the maximum allowed metadata size\./),
    );
    assert.ok(await store.put(B, 'm', text('x'), { customMetadata: { k: 'v'.repeat(8191) } }));
    await assert.rejects(
      store.put(B, 'm', text('x'), { httpMetadata: { contentDisposition: 'x'.repeat(8193) } }),
      r2(10012),
    );
    assert.throws(
      () => store.createMultipartUpload(B, 'm', { customMetadata: { k: 'v'.repeat(8193) } }),
      r2(10012),
    );
    assert.equal(
      (await store.put(B, 'ia', text('x'), { storageClass: 'InfrequentAccess' }))?.storageClass,
      'InfrequentAccess',
    );
    await assert.rejects(
      store.put(B, 's', text('x'), { storageClass: 'Glacier' }),
      r2(10029, /storage class "Glacier"/),
    );
    const sha = createHash('sha256').update('body').digest('hex');
    const ok = await store.put(B, 'sum', text('body'), { checksums: { sha256: sha.toUpperCase() } });
    assert.deepEqual(ok?.checksums, { md5: md5('body'), sha256: sha });
    await assert.rejects(
      store.put(B, 'sum', text('other'), { checksums: { sha256: sha } }),
      r2(
        10037,
        /The SHA-256 checksum you specified did not match what we received\.\nYou provided a SHA-256 checksum with value: /,
      ),
    );
    await assert.rejects(
      store.put(B, 'sum', text('x'), { checksums: { md5: md5('x'), sha1: 'a'.repeat(40) } }),
      input('TypeError', /multiple hashing algorithms/),
    );
    await assert.rejects(
      store.put(B, 'sum', text('x'), { checksums: { sha1: 'ab' } }),
      input('TypeError', /SHA-1 is 40 hex characters, not 2/),
    );
    assert.equal(await read(await store.get(B, 'sum')), 'body', 'a failed put changes nothing');
  });

  it('delete: one key or many, missing keys are fine, at most 1,000', async () => {
    for (const k of ['d1', 'd2', 'd3']) await store.put(B, k, text(k));
    await store.delete(B, 'd1');
    await store.delete(B, ['d2', 'd3', 'never']);
    assert.deepEqual(store.list(B).objects, []);
    await assert.rejects(
      store.delete(
        B,
        Array.from({ length: 1001 }, (_, i) => `k${i}`),
      ),
      r2(10029, /at most 1000/),
    );
    assert.deepEqual(readdirSync(join(store.dir, 'bodies')).length, 0);
  });
});

describe('list', () => {
  beforeEach(async () => {
    for (const k of ['a', 'b/1', 'b/2', 'b/c/3', 'c', 'é', 'z'])
      await store.put(B, k, text(k), { httpMetadata: { contentType: 'x/y' }, customMetadata: { k } });
  });
  const keys = (r: ReturnType<R2Buckets['list']>) => r.objects.map((o) => o.key);

  it('in UTF-8 byte order, with prefix, startAfter and metadata only when included', () => {
    const all = store.list(B);
    assert.deepEqual(keys(all), ['a', 'b/1', 'b/2', 'b/c/3', 'c', 'z', 'é']);
    assert.equal(all.truncated, false);
    assert.equal(all.cursor, undefined);
    assert.equal(all.objects[0].httpMetadata, undefined);
    assert.equal(all.objects[0].customMetadata, undefined);
    assert.deepEqual(keys(store.list(B, { prefix: 'b/' })), ['b/1', 'b/2', 'b/c/3']);
    assert.deepEqual(keys(store.list(B, { startAfter: 'b/2' })), ['b/c/3', 'c', 'z', 'é']);
    const withMeta = store.list(B, { prefix: 'a', include: ['httpMetadata', 'customMetadata'] }).objects[0];
    assert.deepEqual([withMeta.httpMetadata, withMeta.customMetadata], [{ contentType: 'x/y' }, { k: 'a' }]);
    const onlyCustom = store.list(B, { prefix: 'a', include: ['customMetadata'] }).objects[0];
    assert.deepEqual([onlyCustom.httpMetadata, onlyCustom.customMetadata], [undefined, { k: 'a' }]);
  });

  it('a delimiter rolls keys up into delimitedPrefixes, each counted once', () => {
    const top = store.list(B, { delimiter: '/' });
    assert.deepEqual(keys(top), ['a', 'c', 'z', 'é']);
    assert.deepEqual(top.delimitedPrefixes, ['b/']);
    const inB = store.list(B, { prefix: 'b/', delimiter: '/' });
    assert.deepEqual([keys(inB), inB.delimitedPrefixes], [['b/1', 'b/2'], ['b/c/']]);
    const page = store.list(B, { delimiter: '/', limit: 2 });
    assert.deepEqual([keys(page), page.delimitedPrefixes, page.truncated], [['a'], ['b/'], true]);
    const next = store.list(B, { delimiter: '/', limit: 2, cursor: page.cursor });
    assert.deepEqual(keys(next), ['c', 'z']);
  });

  it('pages with a cursor until it is complete; limits are 1 to 1,000', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = store.list(B, { limit: 3, cursor });
      seen.push(...keys(page));
      if (!page.truncated) break;
      cursor = page.cursor;
    }
    assert.deepEqual(seen, ['a', 'b/1', 'b/2', 'b/c/3', 'c', 'z', 'é']);
    for (const limit of [0, 1001, 1.5])
      assert.throws(
        () => store.list(B, { limit }),
        r2(10022, /MaxKeys params must be positive integer <= 1000\./),
      );
    assert.throws(() => store.list(B, { cursor: 'not a cursor!' }), r2(10029, /cursor/));
  });
});

describe('multipart uploads', () => {
  const part = (n: number, fill: number) => new Uint8Array(n).fill(fill);

  it('parts in part-number order make the object; the etag is the md5 of their md5s', async () => {
    const id = store.createMultipartUpload(B, 'big', {
      httpMetadata: { contentType: 'application/x-big' },
      customMetadata: { parts: '3' },
    });
    const p2 = await store.uploadPart(B, 'big', id, 2, part(6, 2));
    const p1 = await store.uploadPart(B, 'big', id, 1, part(6, 1));
    const p3 = await store.uploadPart(B, 'big', id, 3, part(4, 3));
    assert.equal(p1.etag, md5(part(6, 1)));
    // A part uploaded again replaces the first one.
    const p1b = await store.uploadPart(B, 'big', id, 1, part(6, 9));
    assert.deepEqual(p1b, { partNumber: 1, etag: md5(part(6, 9)) });
    const obj = await store.completeMultipartUpload(B, 'big', id, [p2, p1b, p3]);
    const want = createHash('md5')
      .update(Buffer.concat([p1b, p2, p3].map((p) => Buffer.from(p.etag, 'hex'))))
      .digest('hex');
    assert.equal(obj.etag, `${want}-3`);
    assert.equal(obj.size, 16);
    assert.deepEqual(obj.checksums, {});
    assert.deepEqual(obj.httpMetadata, { contentType: 'application/x-big' });
    const whole = await (await store.get(B, 'big'))?.body?.bytes();
    assert.deepEqual([...(whole ?? [])], [...part(6, 9), ...part(6, 2), ...part(4, 3)]);
    const across = await store.get(B, 'big', { range: { offset: 5, length: 8 } });
    assert.deepEqual([...((await across?.body?.bytes()) ?? [])], [9, 2, 2, 2, 2, 2, 2, 3]);
    assert.equal(readdirSync(join(store.dir, 'bodies')).length, 3, 'the replaced part is gone');
    await store.delete(B, 'big');
    assert.equal(readdirSync(join(store.dir, 'bodies')).length, 0);
  });

  it("R2's part rules: 5 MiB minimum but the last, equal sizes, a last part no larger", async () => {
    const strict = new R2Buckets(folder());
    try {
      const id = strict.createMultipartUpload(B, 'k');
      const a = await strict.uploadPart(B, 'k', id, 1, part(10, 1));
      const b = await strict.uploadPart(B, 'k', id, 2, part(10, 2));
      await assert.rejects(
        strict.completeMultipartUpload(B, 'k', id, [a, b]),
        r2(
          10011,
          /smaller than the minimum allowed object size\. \(part 1 is 10 bytes; .* at least 5242880\)/,
        ),
      );
      // One part of any size is a whole object.
      const one = await strict.completeMultipartUpload(B, 'k', id, [b]);
      assert.equal(one.size, 10);
    } finally {
      strict.close();
    }
    const id = store.createMultipartUpload(B, 'k');
    const p = [
      await store.uploadPart(B, 'k', id, 1, part(8, 1)),
      await store.uploadPart(B, 'k', id, 2, part(6, 2)),
      await store.uploadPart(B, 'k', id, 3, part(9, 3)),
    ];
    await assert.rejects(store.completeMultipartUpload(B, 'k', id, p), r2(10048, /same size/));
    await assert.rejects(
      store.completeMultipartUpload(B, 'k', id, [p[0], p[2]]),
      r2(10048, /may not be larger/),
    );
    await assert.rejects(
      store.completeMultipartUpload(B, 'k', id, [p[0], { partNumber: 2, etag: 'x' }]),
      r2(10025, /part 2 has another etag/),
    );
    await assert.rejects(
      store.completeMultipartUpload(B, 'k', id, [p[0], { partNumber: 7, etag: 'x' }]),
      r2(10025, /part 7 was not uploaded/),
    );
    await assert.rejects(store.completeMultipartUpload(B, 'k', id, [p[0], p[0]]), r2(10001, /listed twice/));
    await assert.rejects(
      store.uploadPart(B, 'k', id, 0, part(1, 1)),
      input('TypeError', /between 1 and 10000 \(inclusive\)\. Actual value was: 0/),
    );
    await assert.rejects(store.uploadPart(B, 'other-key', id, 1, part(1, 1)), r2(10024));
    await assert.rejects(
      store.uploadPart(B, 'k', 'made-up', 1, part(1, 1)),
      r2(10024, /The specified multipart upload does not exist\./),
    );
  });

  it('complete and abort end an upload; abort again is no error', async () => {
    const id = store.createMultipartUpload(B, 'k');
    const p = await store.uploadPart(B, 'k', id, 1, part(3, 1));
    await store.completeMultipartUpload(B, 'k', id, [p]);
    await assert.rejects(store.completeMultipartUpload(B, 'k', id, [p]), r2(10024));
    await store.abortMultipartUpload(B, 'k', id);
    assert.equal(
      await read(await store.get(B, 'k')),
      '\x01\x01\x01',
      'abort after complete leaves the object',
    );
    const id2 = store.createMultipartUpload(B, 'k2');
    await store.uploadPart(B, 'k2', id2, 1, part(3, 1));
    await store.abortMultipartUpload(B, 'k2', id2);
    await store.abortMultipartUpload(B, 'k2', id2);
    await assert.rejects(store.uploadPart(B, 'k2', id2, 2, part(3, 1)), r2(10024));
    assert.equal(await store.head(B, 'k2'), null);
    assert.equal(readdirSync(join(store.dir, 'bodies')).length, 1);
  });
});

describe('on disk', () => {
  it('objects and uploads in progress survive closing and reopening', async () => {
    const dir = folder();
    let s = new R2Buckets(dir, { minPartBytes: 1 });
    const put = await s.put(B, 'kept', text('persisted'), { customMetadata: { a: '1' } });
    const id = s.createMultipartUpload(B, 'later');
    const p = await s.uploadPart(B, 'later', id, 1, text('part one'));
    s.close();
    s = new R2Buckets(dir, { minPartBytes: 1 });
    try {
      assert.deepEqual(await s.head(B, 'kept'), { ...put, range: { offset: 0, length: 9 } });
      assert.equal(await read(await s.get(B, 'kept')), 'persisted');
      await s.completeMultipartUpload(B, 'later', id, [p]);
      assert.equal(await read(await s.get(B, 'later')), 'part one');
    } finally {
      s.close();
    }
  });

  it('files no row names (a crash before the commit) are removed at open once old enough', async () => {
    const dir = folder();
    const s = new R2Buckets(dir);
    await s.put(B, 'k', text('x'));
    s.close();
    const bodies = join(dir, 'bodies');
    writeFileSync(join(bodies, 'orphan-old'), 'x');
    writeFileSync(join(bodies, '.half-written.tmp'), 'x');
    writeFileSync(join(bodies, 'orphan-new'), 'x');
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(bodies, 'orphan-old'), old, old);
    utimesSync(join(bodies, '.half-written.tmp'), old, old);
    const opened = new R2Buckets(dir);
    assert.equal(existsSync(join(bodies, 'orphan-old')), true, 'nothing happens before the first use');
    opened.list(B);
    opened.close();
    assert.equal(existsSync(join(bodies, 'orphan-old')), false);
    assert.equal(existsSync(join(bodies, '.half-written.tmp')), false);
    assert.equal(existsSync(join(bodies, 'orphan-new')), true, 'maybe another process is about to commit it');
    const again = new R2Buckets(dir);
    assert.equal(await read(await again.get(B, 'k')), 'x');
    again.close();
  });
});
