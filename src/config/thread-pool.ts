/**
 * libuv's thread pool, shared by the whole process: Node's WebCrypto, fs calls (fsync among
 * them), DNS lookups and zlib. A started job cannot be cancelled, so each user that can queue
 * many jobs gets a share and waits its turn beyond it; what is left keeps DNS and file reads
 * moving. The shares: crypto for isolates (src/runtime/bridge/crypto-gate.ts) half the pool,
 * Durable Objects' group-commit fsyncs (src/durable-objects/wal-sync.ts) what crypto leaves
 * less one thread, at least one each.
 */
export const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;
/** Crypto operations in flight in the whole process. */
export const CRYPTO_SLOTS = Math.max(1, Math.floor(POOL_THREADS / 2));
/** fsyncs of Durable Object storage in flight in the whole process. */
export const FSYNC_SLOTS = Math.max(1, POOL_THREADS - CRYPTO_SLOTS - 1);
