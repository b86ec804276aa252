/**
 * JetStream by hand, for nats-store.ts: queue names as subject tokens, the delivery count in an
 * ack subject, and a pull that does not wait. The client's fetch() waits for its `expires` (at
 * least 1 s) when fewer messages than asked for are there; a lease must answer at once, so the
 * pull is a `no_wait` request to $JS.API.CONSUMER.MSG.NEXT (nats-server 2.9 answers the
 * messages it has, then a 404/408 status).
 */
import { createHash } from 'node:crypto';
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';

/** The subject token and consumer suffix for a queue name. */
export function token(queue: string): string {
  const hex = Buffer.from(queue, 'utf8').toString('hex');
  return hex.length <= 64 ? hex : createHash('sha256').update(queue).digest('hex').slice(0, 40);
}

/** The delivery count in a JetStream ack subject ($JS.ACK.<stream>.<consumer>.<delivered>…). */
export function deliveries(reply: string): number {
  const t = reply.split('.');
  return Number(t.length >= 12 ? t[6] : t[4]);
}

/** Pull up to `batch` messages from a durable consumer without waiting for more. */
export async function pullNoWait(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  batch: number,
  timeoutMs: number,
): Promise<Msg[]> {
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  const out: Msg[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch, no_wait: true }), {
    reply: inbox,
  });
  for await (const m of sub) {
    // A status (404 no messages, 408 request done) ends the pull.
    if (!m.reply?.startsWith('$JS.ACK.')) break;
    out.push(m);
    if (out.length >= batch) break;
  }
  clearTimeout(timer);
  sub.unsubscribe();
  return out;
}
