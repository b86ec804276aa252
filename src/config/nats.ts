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
