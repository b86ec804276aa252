/**
 * Host crypto (crypto.subtle) for isolates: bounded, timed and charged to the tenant.
 *
 * Node's WebCrypto does its work on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE
 * says otherwise), which the whole process shares with DNS lookups, file reads and zlib, and
 * where a started job cannot be cancelled. So:
 *  - each isolate runs one operation at a time, in order, and at most QUEUE_MAX calls or
 *    QUEUE_BYTES_MAX bytes of arguments wait behind it (the host holds copies of them);
 *  - the process runs at most half the pool's threads of crypto at once (FIFO across isolates),
 *    so a tenant flooding crypto never takes every thread from DNS and files;
 *  - an isolate that dies drops what it had waiting.
 *
 * Charging: the time from the moment an operation gets its turn to the moment it settles is
 * charged to the invocation that asked (IsolateOwner.chargeHost), as if the tenant's own code
 * had spent it, so the request meets its CPU limit (Workers counts crypto in CPU time; workerd
 * runs it on the isolate's thread). It is wall time, not CPU time: Node 20 has no per-thread CPU
 * clock for pool threads, and process.cpuUsage() counts every thread. Because the gate keeps
 * crypto below the pool's size, a job starts when its turn comes, so the measure excludes
 * queueing behind other tenants; it over-counts only when the machine's cores are
 * oversubscribed (a slower wall clock than CPU clock) or the main thread is late to see the
 * completion. Running the sync variants on the main thread instead would measure CPU exactly
 * but stall every tenant for the whole operation (an RSA-4096 keygen takes about a second).
 */
import { CRYPTO_SLOTS } from '../../config/thread-pool.ts';
import { NamedError } from './named-error.ts';

const QUEUE_MAX = 256;
const QUEUE_BYTES_MAX = 64 * 1024 * 1024;

let running = 0;
const turns: Array<() => void> = [];

function acquire(): Promise<void> {
  if (running < CRYPTO_SLOTS) {
    running++;
    return Promise.resolve();
  }
  return new Promise((resolve) => turns.push(resolve));
}

function release(): void {
  const next = turns.shift();
  if (next) next();
  else running--;
}

/** Bytes of buffer data in a call's arguments (what the host holds while it waits). */
export function argumentBytes(v: unknown, depth = 0): number {
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (!v || typeof v !== 'object' || depth > 8) return 0;
  let n = 0;
  for (const x of Object.values(v)) n += argumentBytes(x, depth + 1);
  return n;
}

/** One isolate's host crypto. */
export class CryptoQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  #bytes = 0;
  #closed = false;

  constructor(
    /** Charge `ns` of host time to invocation `ctx` of the isolate's worker. */
    private readonly charge: (ctx: unknown, ns: bigint) => void,
  ) {}

  run<T>(ctx: unknown, bytes: number, work: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new NamedError('worker isolate disposed', 'Error'));
    if (this.#waiting >= QUEUE_MAX || this.#bytes + bytes > QUEUE_BYTES_MAX)
      return Promise.reject(
        new NamedError(
          `Too many crypto.subtle operations waiting in this isolate (limit ${QUEUE_MAX} calls, ${QUEUE_BYTES_MAX >> 20} MB of data)`,
          'QuotaExceededError',
        ),
      );
    this.#waiting++;
    this.#bytes += bytes;
    const p = this.#tail.then(() => this.#turn(ctx, work));
    this.#tail = p.then(
      () => {},
      () => {},
    );
    return p.finally(() => {
      this.#waiting--;
      this.#bytes -= bytes;
    });
  }

  async #turn<T>(ctx: unknown, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new NamedError('worker isolate disposed', 'Error');
    await acquire();
    if (this.#closed) {
      release();
      throw new NamedError('worker isolate disposed', 'Error');
    }
    const start = process.hrtime.bigint();
    try {
      return await work();
    } finally {
      release();
      this.charge(ctx, process.hrtime.bigint() - start);
    }
  }

  /** The isolate is gone: what has not started never will. */
  close(): void {
    this.#closed = true;
  }
}
