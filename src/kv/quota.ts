/**
 * The storage quota of a KV namespace: the operator's cap on the bytes one namespace stores
 * (src/config/quotas.ts), counted as the UTF-8 key, the value and the metadata of every live
 * key. Cloudflare caps KV storage per account (1 GB on the free plan,
 * https://developers.cloudflare.com/kv/platform/limits/) and documents no error text for it, so
 * the text is Outpost's, in the shape of KV's other limit errors (`KV PUT failed: 413 …`).
 */
import { KvError } from './limits.ts';
import type { KvWrite } from './store.ts';

/** What a write leaves stored for its key (0 for a delete). */
export function recordBytes(key: string, w: KvWrite): number {
  if (w.value === null) return 0;
  return (
    Buffer.byteLength(key) + w.value.byteLength + (w.metadata === null ? 0 : Buffer.byteLength(w.metadata))
  );
}

/** Throw when a write that adds `delta` bytes would take the namespace to `after`, past `quota`. */
export function checkQuota(ns: string, after: number, delta: number, quota: number): void {
  if (after <= quota) return;
  throw new KvError(
    413,
    `KV namespace "${ns}" is over its storage quota of ${quota} bytes: this write adds ${delta} bytes to the ${after - delta} stored; the write was not made. Delete keys or ask the operator for a larger quota.`,
  );
}
