/**
 * R2 bucket bindings (`r2_buckets`), host side: checks what the isolate sent (./r2-args.ts) and
 * runs it on the runtime's buckets (src/r2/). The isolate side is
 * src/runtime/isolate/bindings/r2.ts. R2's failures reach the worker as Workers reports them, a
 * plain Error reading `<operation>: <message> (<code>)`; arguments Workers itself refuses keep
 * their TypeError or RangeError.
 *
 * Bodies: a put() or uploaded part arrives whole, as one ArrayBuffer (the isolate reads a stream
 * to its end first). A get() answers small bodies inline and larger ones as a host stream the
 * isolate pulls chunk by chunk (src/runtime/bridge/bodies.ts), read from the object's files as
 * it goes.
 */
import type { R2BucketBinding } from '../../config/index.ts';
import { R2Error, R2InputError, type R2ObjectMeta } from '../../r2/index.ts';
import { kvNamespaceOf } from '../accounts.ts';
import { fromAsyncIterable, toArrayBuffer } from '../bridge/bodies.ts';
import { NamedError } from '../bridge/named-error.ts';
import type { IsolateOwner } from '../bridge/syscalls.ts';
import type { R2ObjectData } from './protocol.ts';
import * as args from './r2-args.ts';
import type { HostBinding } from './types.ts';

/** Bodies up to this size cross inline; larger ones are pulled as a stream. */
const INLINE_BODY_MAX = 64 * 1024;

/**
 * The bucket a binding names: its `bucket_name` in the worker's account, or, without one, the
 * worker's own (`<tenant>:<binding>`), as KV namespaces and D1 databases are named.
 */
export function r2BucketId(
  tenant: string,
  account: string,
  b: Pick<R2BucketBinding, 'bucket' | 'own' | 'binding'>,
): string {
  return b.own ? `${tenant}:${b.binding}` : kvNamespaceOf(account, b.bucket);
}

const data = (m: R2ObjectMeta): R2ObjectData => m;

/**
 * Workers before the 2022-08-04 compatibility date (`r2_list_honor_include`) list objects with
 * both kinds of metadata whatever `include` says.
 */
export function listHonorsInclude(v: {
  compatibilityDate: string | undefined;
  compatibilityFlags: string[];
}): boolean {
  if (v.compatibilityFlags.includes('r2_list_honor_include')) return true;
  return v.compatibilityDate === undefined || v.compatibilityDate >= '2022-08-04';
}

export const r2Binding: HostBinding<'r2'> = {
  describe: () => ({ type: 'r2' }),
  connect: (b, wire) => {
    const bucket = r2BucketId(wire.version.tenant, wire.version.account, b);
    const honorsInclude = listHonorsInclude(wire.version);
    /**
     * One operation: the invocation must still be live; R2's errors get the operation's name
     * as Workers writes it; the time spent is a Server-Timing entry of the request.
     */
    const run = async <T>(
      o: IsolateOwner,
      ctx: unknown,
      op: string,
      work: () => Promise<T> | T,
    ): Promise<T> => {
      o.requireLive(ctx);
      // Taken before the work: where its span goes is decided as the call starts (under the
      // custom span it was made in, bridge/syscalls.ts).
      const hops = o.hops(ctx);
      const started = performance.now();
      try {
        return await work();
      } catch (err) {
        if (err instanceof R2Error) throw new NamedError(err.forOperation(op), 'Error');
        if (err instanceof R2InputError) throw new NamedError(err.message, err.kind);
        throw err;
      } finally {
        const ms = performance.now() - started;
        hops?.hop(
          { name: 'r2', ms, desc: `${op} ${b.binding}` },
          {
            name: `r2_${op}`,
            attrs: { 'cloudflare.binding.type': 'R2', 'cloudflare.binding.name': b.binding },
          },
        );
      }
    };
    return {
      head: (o, ctx, [key]) =>
        run(o, ctx, 'head', async () => {
          const m = await wire.r2().head(bucket, args.key(key));
          return m && data(m);
        }),
      get: (o, ctx, [key, options]) =>
        run(o, ctx, 'get', async () => {
          const r = await wire.r2().get(bucket, args.key(key), args.getOptions(options));
          if (!r) return null;
          if (!r.body) return { object: data(r.object), body: null };
          if (r.body.length <= INLINE_BODY_MAX)
            return { object: data(r.object), body: toArrayBuffer(await r.body.bytes()) };
          return { object: data(r.object), body: o.bodies.add(fromAsyncIterable(r.body)) };
        }),
      put: (o, ctx, [key, value, options]) =>
        run(o, ctx, 'put', async () => {
          const m = await wire.r2().put(bucket, args.key(key), args.bytes(value), args.putOptions(options));
          return m && data(m);
        }),
      delete: (o, ctx, [keys]) => run(o, ctx, 'delete', () => wire.r2().delete(bucket, args.keys(keys))),
      list: (o, ctx, [options]) =>
        run(o, ctx, 'list', () => {
          const opts = args.listOptions(options);
          if (!honorsInclude) opts.include = ['httpMetadata', 'customMetadata'];
          return wire.r2().list(bucket, opts);
        }),
      createMultipartUpload: (o, ctx, [key, options]) =>
        run(o, ctx, 'createMultipartUpload', () =>
          wire.r2().createMultipartUpload(bucket, args.key(key), args.multipartOptions(options)),
        ),
      uploadPart: (o, ctx, [key, uploadId, partNumber, value]) =>
        run(o, ctx, 'uploadPart', () =>
          wire
            .r2()
            .uploadPart(
              bucket,
              args.key(key),
              args.uploadId(uploadId),
              args.partNumber(partNumber),
              args.bytes(value),
            ),
        ),
      completeMultipartUpload: (o, ctx, [key, uploadId, parts]) =>
        run(o, ctx, 'completeMultipartUpload', async () =>
          data(
            await wire
              .r2()
              .completeMultipartUpload(
                bucket,
                args.key(key),
                args.uploadId(uploadId),
                args.uploadedParts(parts),
              ),
          ),
        ),
      abortMultipartUpload: (o, ctx, [key, uploadId]) =>
        run(o, ctx, 'abortMultipartUpload', () =>
          wire.r2().abortMultipartUpload(bucket, args.key(key), args.uploadId(uploadId)),
        ),
    };
  },
};
