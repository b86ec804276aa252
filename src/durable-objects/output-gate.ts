/**
 * The output gate, where answers leave an object: a response, an RPC result or an exception
 * waits until what the object wrote before it is confirmed — on the disk for an object on this
 * machine (storage.ts, wal-sync.ts), replicated with this node's lease still held for an object
 * of a network of nodes (cluster/replicated.ts). WebSocket messages wait the same way, in order
 * (staged.ts, output()). An object that wrote nothing waits for nothing.
 */
import { ObjectError } from './errors.ts';
import type { ObjectResponse } from './host.ts';
import type { Live } from './live.ts';

export async function gate(l: Live): Promise<void> {
  try {
    // Replicated: the lease is checked on every answer, written or not.
    if (l.replicated) await l.replicated.gate();
    else if (l.storage.store.outputWaits()) await l.storage.store.confirmOutput();
  } catch (err) {
    throw new ObjectError(
      `Durable Object storage could not be confirmed, so its answer was withheld: ${(err as Error).message}`,
    );
  }
}

/** A response whose body chunks each wait for the output gate (writes made while streaming). */
export function gatedResponse(res: ObjectResponse, wait: () => Promise<void>): ObjectResponse {
  const body = res.body;
  if (!body || body instanceof Uint8Array) return res;
  return {
    ...res,
    body: {
      async next() {
        const chunk = await body.next();
        await wait();
        return chunk;
      },
      cancel: (reason) => body.cancel(reason),
    },
  };
}
