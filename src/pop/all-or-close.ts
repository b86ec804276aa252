/**
 * Parts set up at once (a node's NATS connections: each part has its own), awaited together:
 * all of them, or, when one fails, the others that did start closed and the first failure
 * thrown — nothing left connected behind an error.
 */
type Closable = { close(): Promise<unknown> | unknown };
type Part = Promise<Closable | null> | Closable | null;

export async function allOrClose<T extends Part[]>(
  parts: readonly [...T],
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(parts);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const r of settled)
      if (r.status === 'fulfilled')
        try {
          await r.value?.close();
        } catch {
          // Closing what connected is best effort; the failure that matters is thrown.
        }
    throw failed.reason;
  }
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
