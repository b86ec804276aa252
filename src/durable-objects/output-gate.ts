/**
 * The output gate (https://blog.cloudflare.com/durable-objects-easy-fast-correct-choose-three/):
 * nothing an object says leaves it before what it wrote before saying it is confirmed — on the
 * disk for an object on this machine (storage.ts, wal-sync.ts: one fsync shared by the commits
 * before it), replicated with this node's lease still held for an object of a network of nodes
 * (cluster/replicated.ts). An object that wrote nothing waits for nothing.
 *
 * What it holds, and where:
 *  - its answer: a response (and each chunk of a streamed body), an RPC result, an exception —
 *    gated(), in objects.ts and across-nodes.ts;
 *  - WebSocket messages and closes, in order — StagedStorage.output(), from the bridge;
 *  - subrequests, calls to bindings (KV, queues, other objects, services…), the Cache API,
 *    outgoing WebSockets and TCP writes, `storage.sync()` — StagedStorage.confirmed(), awaited
 *    by the bridge before the call starts (src/runtime/bridge/syscalls.ts).
 * The isolate commits its staged writes before each of these (src/runtime/isolate/durable.ts),
 * so "before" means every write its code made before it. (A transaction's writes commit when
 * its closure returns.)
 */
import { ObjectError } from './errors.ts';
import type { ObjectResponse } from './host.ts';
import type { Live } from './live.ts';

/** Confirmation failed: what was to leave is withheld, with an error saying why. */
export function withheld(err: unknown, what: string): ObjectError {
  return new ObjectError(
    `Durable Object storage could not be confirmed, so ${what}: ${(err as Error)?.message ?? err}`,
  );
}

/** null when the object's answer may leave now; else a promise that settles when it may. */
function answerGate(l: Live): Promise<void> | null {
  // Replicated: the lease is checked on every answer, written or not.
  const ready = l.replicated ? l.replicated.gate() : l.storage.confirmed();
  if (ready === null) return null;
  return ready.catch((err: unknown) => {
    throw withheld(err, 'its answer was withheld');
  });
}

/**
 * Run an event and let its outcome leave through the gate: the result, or the exception (an
 * exception is an answer too), and for a response each chunk of its body as it streams.
 */
export async function gated<T>(l: Live, fetch: boolean, run: () => Promise<T>): Promise<T> {
  let out: T;
  try {
    out = await run();
  } catch (err) {
    const g = answerGate(l);
    if (g !== null) await g;
    throw err;
  }
  const g = answerGate(l);
  if (g !== null) await g;
  // Each chunk of a streamed body leaves once what the object wrote while making it (committed
  // by the isolate as it hands the chunk over: src/runtime/isolate/dispatch.ts) is confirmed.
  // The host does not commit here: writes made after the chunk was handed over are the next
  // chunk's, and a commit the isolate does not make would leave its storage cache unaware of
  // a failure.
  return fetch ? (gatedResponse(out as ObjectResponse, () => answerGate(l)) as T) : out;
}

/** A response whose body chunks each wait for the output gate (writes made while streaming). */
function gatedResponse(res: ObjectResponse, wait: () => Promise<void> | null): ObjectResponse {
  const body = res.body;
  if (!body || body instanceof Uint8Array) return res;
  return {
    ...res,
    body: {
      async next() {
        const chunk = await body.next();
        const ready = wait();
        if (ready !== null) await ready;
        return chunk;
      },
      cancel: (reason) => body.cancel(reason),
    },
  };
}
