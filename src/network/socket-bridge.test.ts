import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { bridge, HIGH_WATER } from './socket-bridge.ts';

const MESSAGE = 256 * 1024;
const COUNT = 64; // 16 MiB: well past what loopback's socket buffers take

const servers: WebSocketServer[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function server(): Promise<{ url: string; next: () => Promise<WebSocket> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((ok) => wss.once('listening', ok));
  const waiting: ((ws: WebSocket) => void)[] = [];
  const ready: WebSocket[] = [];
  wss.on('connection', (ws) => {
    const w = waiting.shift();
    if (w) w(ws);
    else ready.push(ws);
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    next: () => {
      const ws = ready.shift();
      return ws ? Promise.resolve(ws) : new Promise((ok) => waiting.push(ok));
    },
  };
}

const opened = (ws: WebSocket) => new Promise((ok, no) => ws.once('open', ok).once('error', no));

/**
 * The bridge between an owner (a server whose socket `owner` plays the object) and a client
 * attached through a second server, as a node wires them (object-peer.ts).
 */
async function wire(attachLater = false) {
  const ownerSide = await server();
  const peer = new WebSocket(ownerSide.url);
  const b = bridge(peer);
  const owner = await ownerSide.next();
  await opened(peer);
  const clientSide = await server();
  const client = new WebSocket(clientSide.url);
  const attached = clientSide.next();
  await opened(client);
  const here = await attached;
  const attach = () => b.attach(here);
  if (!attachLater) attach();
  return { b, peer, owner, client, here, attach };
}

const message = (i: number) => {
  const m = Buffer.alloc(MESSAGE, i % 251);
  m.writeUInt32BE(i, 0);
  return m;
};

/** Every message arrives, in order, whole. */
function receiveAll(ws: WebSocket): Promise<void> {
  return new Promise((ok, no) => {
    let i = 0;
    const on = (data: RawData) => {
      const m = data as Buffer;
      if (m.length !== MESSAGE || m.readUInt32BE(0) !== i) {
        ws.off('message', on);
        return no(new Error(`message ${i}: got ${m.length} bytes, number ${m.readUInt32BE(0)}`));
      }
      if (++i === COUNT) {
        ws.off('message', on);
        ok();
      }
    };
    ws.on('message', on);
  });
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the WebSocket bridge to an object on another node', () => {
  it('stops reading a client that sends faster than the object reads, and loses nothing', async () => {
    const { b, owner, client, here } = await wire();
    owner.pause(); // the object is slow
    for (let i = 0; i < COUNT; i++) client.send(message(i));
    await until('the client is no longer read', () => here.isPaused);
    const { up } = b.flows();
    assert.ok(up);
    // Buffered here: at most the bound and the message that passed it, not 16 MiB.
    assert.ok(up.peak <= HIGH_WATER + MESSAGE, `peak ${up.peak} bytes`);
    assert.ok(client.bufferedAmount > 0, 'the rest waits at the client');
    const all = receiveAll(owner);
    owner.resume();
    await all;
    await until('the client is read again', () => !here.isPaused && up.waiting === 0);
    client.close();
  });

  it("stops reading the object when the client doesn't keep up, and loses nothing", async () => {
    const { b, peer, owner, client } = await wire();
    client.pause(); // the client is slow
    for (let i = 0; i < COUNT; i++) owner.send(message(i));
    await until('the object is no longer read', () => peer.isPaused);
    const { down } = b.flows();
    assert.ok(down.peak <= HIGH_WATER + MESSAGE, `peak ${down.peak} bytes`);
    const all = receiveAll(client);
    client.resume();
    await all;
    await until('the object is read again', () => !peer.isPaused && down.waiting === 0);
    client.close();
  });

  it('holds what the object sends before the client is attached, under the same bound', async () => {
    const { b, peer, owner, client, attach } = await wire(true);
    const all = receiveAll(client);
    for (let i = 0; i < COUNT; i++) owner.send(message(i));
    await until('the object is no longer read', () => peer.isPaused);
    assert.ok(b.flows().down.peak <= HIGH_WATER + MESSAGE, `peak ${b.flows().down.peak} bytes`);
    attach();
    await all;
    await until('the object is read again', () => !peer.isPaused);
    client.close();
  });

  it('a close crosses while the other side is paused', async () => {
    const { peer, owner, client } = await wire();
    client.pause();
    for (let i = 0; i < COUNT; i++) owner.send(message(i));
    await until('the object is no longer read', () => peer.isPaused);
    const closed = new Promise<number>((ok) => owner.once('close', (code) => ok(code)));
    client.terminate();
    assert.equal(await closed, 1005);
  });
});
