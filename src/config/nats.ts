/**
 * How long making a stream or bucket may take, ms: a replicated one (R3) is placed by the
 * cluster's metadata leader, which can take seconds while several processes start at once.
 */
export const NATS_CREATE_TIMEOUT_MS = 20_000;

/**
 * `--nats` takes one server URL or several, comma-separated (a cluster: `nats://a:4222,nats://b:4222`);
 * the NATS client wants a list. Empty entries are dropped; nothing left is refused by name.
 */
export function natsServers(value: string | string[]): string[] {
  const list = (Array.isArray(value) ? value : [value])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new TypeError(`--nats: no NATS server URL in "${String(value)}"`);
  return list;
}

/**
 * Whether a JetStream stream exists, asked with a plain stream-info request (a consumer-based
 * listing kept timing out on a cluster that had just lost a server); other errors are thrown.
 */
export function streamExists(
  jsm: { streams: { info(name: string): Promise<unknown> } },
  stream: string,
): Promise<boolean> {
  return jsm.streams.info(stream).then(
    () => true,
    (err: Error) => {
      if (/stream not found/i.test(err.message)) return false;
      throw err;
    },
  );
}

/** A KV compare-and-set that lost (JetStream's "wrong last sequence" or "key exists"). */
export function isCasFailure(err: unknown): boolean {
  const code = (err as { code?: number })?.code;
  return code === 10071 || code === 10164 || /wrong last sequence|key exists/i.test(String(err));
}

/**
 * Whether a JetStream API failure may pass if asked again: a request left unanswered (the
 * metadata leader busy placing replicated streams while several processes start at once, or a
 * stream whose group has no leader yet) or a cluster that says it is temporarily unavailable.
 */
export function transientJetStream(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string | number } | null;
  const text = `${e?.name ?? ''} ${e?.message ?? String(err)} ${e?.code ?? ''}`;
  return /timeout|temporarily unavailable|no responders|\b503\b/i.test(text);
}

/**
 * Run `setup` (making or finding streams and buckets when a process starts) again while it fails
 * with a transient JetStream error, until `deadlineMs` have passed (then it fails naming `what`);
 * any other error is thrown as it is. Every step of `setup` must be safe to repeat.
 */
export async function jetStreamSetup<T>(
  what: string,
  setup: () => Promise<T>,
  deadlineMs = 3 * NATS_CREATE_TIMEOUT_MS,
): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (let wait = 250; ; wait = Math.min(wait * 2, 4000)) {
    try {
      return await setup();
    } catch (err) {
      if (!transientJetStream(err)) throw err;
      if (Date.now() + wait > until) {
        const e = err as Error;
        throw new Error(
          `${what}: JetStream did not answer within ${Math.round(deadlineMs / 1000)} s (${e.name}: ${e.message})`,
          { cause: err },
        );
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
