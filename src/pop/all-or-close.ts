/**
 * Parts set up at once (a node's NATS connections: each part has its own), awaited together:
 * all of them, or, as soon as one fails, that failure — the parts that did start are closed,
 * those still starting once they have (a connect that retries for a minute does not hold up the
 * error, and nothing is left connected behind it).
 */
type Closable = { close(): Promise<unknown> | unknown };
type Part = Promise<Closable | null> | Closable | null;

function closeQuietly(part: Closable | null): void {
  if (!part) return;
  try {
    Promise.resolve(part.close()).catch(() => {});
  } catch {
    // Closing what started is best effort; the failure that matters is the one thrown.
  }
}

export function allOrClose<T extends Part[]>(
  parts: readonly [...T],
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  return new Promise((resolve, reject) => {
    const values: (Closable | null)[] = new Array(parts.length).fill(null);
    let left = parts.length;
    let failed = false;
    if (left === 0) resolve([] as unknown as { -readonly [K in keyof T]: Awaited<T[K]> });
    parts.forEach((part, i) => {
      Promise.resolve(part).then(
        (value) => {
          if (failed) return closeQuietly(value);
          values[i] = value;
          if (--left === 0) resolve(values as unknown as { -readonly [K in keyof T]: Awaited<T[K]> });
        },
        (err: unknown) => {
          if (failed) return;
          failed = true;
          for (const v of values) closeQuietly(v);
          reject(err);
        },
      );
    });
  });
}
