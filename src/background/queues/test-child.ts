/**
 * Test support for sqlite-store.test.ts: a separate process on the same SQLite file.
 *   send <file> <queue> — send 20 messages, lease them, ack the even ones, print
 *     {"sent":[…],"acked":[…]} and keep writing to another queue until killed (kill -9 lands
 *     mid-write);
 *   lease <file> <queue> — print `ready`, wait for a line on stdin, then lease 5 at a time until
 *     the queue is empty and print the ids.
 */
import { SqliteQueueStore } from './sqlite-store.ts';

const [mode, file, queue] = process.argv.slice(2);
const store = new SqliteQueueStore({ file });
const enc = (s: string) => new TextEncoder().encode(s);

if (mode === 'send') {
  for (let i = 0; i < 20; i++) await store.send(queue, [{ body: enc(`m${i}`), contentType: 'text' }]);
  const leased = await store.lease(queue, 100, 60_000);
  const acked = leased.filter((_, i) => i % 2 === 0).map((m) => m.id);
  await store.ack(queue, acked);
  process.stdout.write(`${JSON.stringify({ sent: leased.map((m) => m.id), acked })}\n`);
  for (let i = 0; ; i++) {
    await store.send(`${queue}-noise`, [{ body: new Uint8Array(4096), contentType: 'bytes' }]);
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
} else if (mode === 'lease') {
  // Start together: say when ready, begin on the first line of input.
  process.stdout.write('ready\n');
  await new Promise((r) => process.stdin.once('data', r));
  const ids: string[] = [];
  for (;;) {
    const got = await store.lease(queue, 5, 60_000);
    if (got.length === 0) break;
    ids.push(...got.map((m) => m.id));
    await new Promise((r) => setTimeout(r, 1)); // let the other process in
  }
  await store.close();
  process.stdout.write(`${JSON.stringify(ids)}\n`, () => process.exit(0));
} else {
  throw new Error(`unknown mode ${mode}`);
}
