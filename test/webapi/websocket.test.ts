// WebSockets through the PoP: a browser-like client talks to a worker's WebSocketPair, and a
// worker connects out to a WebSocket server (fetch upgrade and the constructor).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { startFixture, type TestDev, waitFor } from '../helpers.ts';

let dev: TestDev;
let upstream: WebSocketServer;
let upstreamUrl: string;
before(async () => {
  dev = await startFixture('websocket', { limits: { cpuMs: 1000 } });
  upstream = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => upstream.once('listening', r));
  upstreamUrl = `ws://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  upstream.on('connection', (ws) => ws.on('message', (data) => ws.send(`upstream got: ${data}`)));
});
after(async () => {
  for (const c of upstream.clients) c.terminate();
  await new Promise((r) => upstream.close(r));
  await dev.close();
});

function connect(path: string): Promise<WebSocket> {
  const ws = new WebSocket(`${dev.url.replace('http', 'ws')}${path}`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}
const next = (ws: WebSocket) =>
  new Promise<{ data: WebSocket.RawData; binary: boolean }>((resolve) =>
    ws.once('message', (data, binary) => resolve({ data, binary })),
  );

describe('WebSockets', () => {
  it('a client talks to a worker’s WebSocketPair: text, binary, many messages', async () => {
    const ws = await connect('/echo');
    ws.send('hello');
    assert.equal(String((await next(ws)).data), 'echo: hello');
    ws.send(new Uint8Array([1, 2, 3]));
    const bin = await next(ws);
    assert.equal(bin.binary, true);
    assert.deepEqual([...(bin.data as Buffer)], [3, 2, 1]);
    const replies: string[] = [];
    const all = new Promise<void>((resolve) =>
      ws.on('message', (d) => {
        replies.push(String(d));
        if (replies.length === 50) resolve();
      }),
    );
    for (let i = 0; i < 50; i++) ws.send(`m${i}`);
    await all;
    assert.deepEqual(
      replies,
      Array.from({ length: 50 }, (_, i) => `echo: m${i}`),
    );
    ws.close();
  });
  it('the worker closes with a code and reason; a client close reaches the worker', async () => {
    const ws = await connect('/echo');
    const closed = new Promise<[number, string]>((r) =>
      ws.once('close', (code, reason) => r([code, String(reason)])),
    );
    ws.send('close-me');
    assert.deepEqual(await closed, [4000, 'asked to']);
    const before = ((await (await fetch(`${dev.url}/closes`)).json()) as { closes: number }).closes;
    const ws2 = await connect('/echo');
    ws2.close(1000);
    await waitFor(
      async () => ((await (await fetch(`${dev.url}/closes`)).json()) as { closes: number }).closes > before,
      5000,
      'close event in the worker',
    );
  });
  it('a plain request to a worker that answers 101 gets a clear 500; the worker may refuse upgrades', async () => {
    const res = await fetch(`${dev.url}/wrong`);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /not a WebSocket upgrade/);
    const plain = await fetch(`${dev.url}/echo`);
    assert.equal(plain.status, 426);
  });
  it('the worker connects out with fetch(Upgrade: websocket)', async () => {
    const res = await fetch(
      `${dev.url}/via-fetch?url=${encodeURIComponent(upstreamUrl.replace('ws', 'http'))}`,
    );
    assert.deepEqual(await res.json(), { status: 101, data: 'upstream got: from the worker (fetch)' });
  });
  it('the worker connects out with new WebSocket(url)', async () => {
    const res = await fetch(`${dev.url}/via-constructor?url=${encodeURIComponent(upstreamUrl)}`);
    assert.deepEqual(await res.json(), {
      readyState: 2,
      data: 'upstream got: from the worker (constructor)',
    });
  });
  it('a connection that fails rejects with a clear error', async () => {
    const res = await fetch(`${dev.url}/via-fetch?url=${encodeURIComponent('http://127.0.0.1:1/')}`);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /WebSocket connection to http:\/\/127\.0\.0\.1:1\/ failed/);
  });
  it('misuse throws as in Workers', async () => {
    assert.deepEqual(await (await fetch(`${dev.url}/misuse`)).json(), [
      'TypeError',
      'TypeError',
      'InvalidAccessError',
      'SyntaxError',
    ]);
  });
});
