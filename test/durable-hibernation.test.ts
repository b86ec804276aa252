// The WebSocket hibernation API with real clients: tags, attachments, handlers, broadcast,
// leave; the object is evicted while its sockets stay open and a message wakes it (its
// constructor runs again, its sockets and their attachments are back); an auto-response is
// answered without waking it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

let dev: TestDev;
let project: ReturnType<typeof copyFixture>;
before(async () => {
  project = copyFixture('durable');
  dev = await startFixture(project.dir, { durableObjects: { idleMs: 300 } });
});
after(async () => {
  await dev.close();
  project.cleanup();
});

function client(user: string) {
  const ws = new WebSocket(`${dev.url.replace('http', 'ws')}/chat?name=lobby&user=${user}`);
  const got: string[] = [];
  ws.on('message', (d) => got.push(String(d)));
  const next = async (pred: (m: string) => boolean) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const i = got.findIndex(pred);
      if (i >= 0) return got.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`${user}: nothing matching (got ${JSON.stringify(got)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const open = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, next, open };
}

/** The lobby as the admin API (the dashboard's Durable Objects view) shows it. */
async function lobby(): Promise<
  { live: boolean; state: string; websockets: number; storageBytes: number } | undefined
> {
  const r = await fetch(`${dev.url}/__outpost/do/objects`, {
    headers: { authorization: `Bearer ${dev.adminToken}` },
  });
  const j = (await r.json()) as { objects: { namespace: string; name: string; live: boolean }[] };
  return j.objects.find((o) => o.namespace === 'durable/Chat' && o.name === 'lobby') as never;
}

async function live(): Promise<boolean | undefined> {
  return (await lobby())?.live;
}

describe('WebSocket hibernation', () => {
  it('join, broadcast, tags; evicted with sockets open, woken by a message; auto-response; leave', async () => {
    const ann = client('ann');
    await ann.open;
    const bob = client('bob');
    await bob.open;
    await ann.next((m) => m === 'bob joined');
    bob.ws.send('hello');
    assert.equal(await ann.next((m) => m.startsWith('bob:')), 'bob: hello');
    ann.ws.send('who');
    assert.equal(await ann.next((m) => m.startsWith('who')), 'who ann,bob');
    ann.ws.send('boots');
    assert.equal(await ann.next((m) => m.startsWith('boots')), 'boots 1');

    // Idle: the object goes, the connections stay.
    const deadline = Date.now() + 5000;
    while ((await live()) !== false && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await live(), false, 'evicted while its WebSockets are open');
    const seen = await lobby();
    assert.equal(seen?.state, 'hibernating');
    assert.equal(seen?.websockets, 2, 'ann and bob');
    assert.equal(typeof seen?.storageBytes, 'number');
    assert.equal(ann.ws.readyState, WebSocket.OPEN);

    // The auto-response does not wake it.
    ann.ws.send('ping');
    assert.equal(await ann.next((m) => m === 'pong'), 'pong');
    assert.equal(await live(), false);

    // A message does: constructor again, sockets, tags and attachments back.
    bob.ws.send('boots');
    assert.equal(await bob.next((m) => m.startsWith('boots')), 'boots 2');
    assert.equal(await live(), true);
    bob.ws.send('after waking');
    assert.equal(await ann.next((m) => m.startsWith('bob:')), 'bob: after waking');
    ann.ws.send('who');
    assert.equal(await ann.next((m) => m.startsWith('who')), 'who ann,bob');
    ann.ws.send('auto');
    assert.equal(await ann.next((m) => m.startsWith('auto')), 'auto answered');

    bob.ws.close(1000);
    assert.equal(await ann.next((m) => m.startsWith('bob left')), 'bob left (1000)');
    ann.ws.close();
  });
});
