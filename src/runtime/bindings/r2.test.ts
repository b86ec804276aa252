// The host side of R2 bindings with what tenant code could send through the binding syscall
// directly: every argument checked before the store sees it, the invocation checked first, R2's
// errors named by operation, and each binding reaching only its own bucket.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { BindingOf } from '../../config/index.ts';
import { type Hop, serverTiming } from '../../observability/index.ts';
import { R2Buckets } from '../../r2/index.ts';
import { BodyRegistry } from '../bridge/bodies.ts';
import type { IsolateOwner } from '../bridge/syscalls.ts';
import type { WorkerVersion } from '../types.ts';
import { listHonorsInclude, r2Binding, r2BucketId } from './r2.ts';
import * as args from './r2-args.ts';
import type { WireContext } from './types.ts';

const store = new R2Buckets(null);
after(() => store.close());

const version = {
  tenant: 'shop',
  account: 'local',
  compatibilityDate: '2025-06-01',
  compatibilityFlags: [],
} as unknown as WorkerVersion;
const wire = { version, r2: () => store } as unknown as WireContext;

let live = true;
const hops: Hop[] = [];
const owner = {
  bodies: new BodyRegistry(),
  requireLive: () => {
    if (!live) throw new Error('this request has ended');
  },
  hops: () => ({ hop: (h: Hop) => hops.push(h), shield() {}, object() {} }),
} as unknown as IsolateOwner;

function connect(b: Partial<BindingOf<'r2'>>) {
  const ops = r2Binding.connect(
    { type: 'r2', key: 'r2_buckets[0]', binding: 'BUCKET', bucket: 'files', ...b } as BindingOf<'r2'>,
    wire,
  );
  assert.ok(ops);
  return ops as unknown as Record<string, (o: IsolateOwner, ctx: unknown, a: unknown[]) => Promise<any>>;
}

describe('R2 binding, host side', () => {
  it('names buckets per account, and a binding without bucket_name per worker', () => {
    assert.equal(r2BucketId('shop', 'local', { binding: 'B', bucket: 'files' }), 'files');
    assert.equal(r2BucketId('shop', 'acme', { binding: 'B', bucket: 'files' }), 'acme/files');
    assert.equal(r2BucketId('shop', 'acme', { binding: 'B', bucket: 'shop:B', own: true }), 'shop:B');
  });

  it('stores through one binding what another binding of the same bucket reads, and no other', async () => {
    const a = connect({});
    const same = connect({ binding: 'OTHER' });
    const own = connect({ binding: 'MINE', bucket: 'x:MINE', own: true });
    const put = await a.put(owner, 1, ['k', new TextEncoder().encode('hi').buffer, {}]);
    assert.equal(put.size, 2);
    assert.equal((await same.head(owner, 1, ['k'])).etag, put.etag);
    assert.equal(await own.head(owner, 1, ['k']), null);
    const got = await a.get(owner, 1, ['k', {}]);
    assert.deepEqual(new Uint8Array(got.body), new TextEncoder().encode('hi'));
    assert.match(serverTiming(hops), /r2;dur=[\d.]+;desc="put BUCKET"/);
  });

  it('checks the invocation first, then every argument', async () => {
    const ops = connect({});
    live = false;
    await assert.rejects(ops.put(owner, 1, ['k', new ArrayBuffer(1), {}]), /this request has ended/);
    live = true;
    const bad: [string, unknown[], RegExp][] = [
      ['head', [42], /invalid R2 call: key/],
      ['put', ['k', 'not bytes', {}], /invalid R2 call: value/],
      ['put', ['k', new ArrayBuffer(1), { extra: 1 }], /invalid R2 call: options\.extra/],
      [
        'put',
        ['k', new ArrayBuffer(1), { customMetadata: { a: 1 } }],
        /invalid R2 call: options\.customMetadata\.a/,
      ],
      [
        'put',
        ['k', new ArrayBuffer(1), { httpMetadata: { cacheExpiry: 'soon' } }],
        /httpMetadata\.cacheExpiry/,
      ],
      ['get', ['k', { range: { offset: '1' } }], /invalid R2 call: options\.range\.offset/],
      ['get', ['k', { onlyIf: { headers: { 'if-match': 1 } } }], /options\.onlyIf\.headers\.if-match/],
      ['list', [{ include: ['secrets'] }], /invalid R2 call: options\.include/],
      ['delete', [['a', 1]], /invalid R2 call: keys/],
      ['completeMultipartUpload', ['k', 'id', [{ partNumber: 1 }]], /parts\[0\]\.etag/],
      ['uploadPart', ['k', 7, 1, new ArrayBuffer(1)], /invalid R2 call: uploadId/],
    ];
    for (const [op, a, re] of bad)
      await assert.rejects(
        ops[op](owner, 1, a),
        (err: Error) => err.name === 'TypeError' && re.test(err.message),
        op,
      );
  });

  it("R2's errors carry the operation; Workers' own argument errors keep their type", async () => {
    const ops = connect({});
    await assert.rejects(ops.put(owner, 1, ['', new ArrayBuffer(1), {}]), {
      name: 'Error',
      message: 'put: The specified object name is not valid. (the key is empty) (10020)',
    });
    await assert.rejects(ops.get(owner, 1, ['k', { range: { offset: -1 } }]), { name: 'RangeError' });
    await assert.rejects(ops.uploadPart(owner, 1, ['k', 'made-up', 1, new ArrayBuffer(1)]), {
      message: 'uploadPart: The specified multipart upload does not exist. (10024)',
    });
  });

  it('lists both kinds of metadata for workers dated before r2_list_honor_include', () => {
    assert.equal(listHonorsInclude({ compatibilityDate: '2022-08-04', compatibilityFlags: [] }), true);
    assert.equal(listHonorsInclude({ compatibilityDate: '2022-01-01', compatibilityFlags: [] }), false);
    assert.equal(
      listHonorsInclude({ compatibilityDate: '2022-01-01', compatibilityFlags: ['r2_list_honor_include'] }),
      true,
    );
    assert.deepEqual(args.listOptions({ limit: 5, include: ['httpMetadata'] }), {
      limit: 5,
      include: ['httpMetadata'],
    });
  });
});
