/**
 * A PoP server handed its connections by a node's primary (src/network/affinity.ts,
 * PopServerOptions.handed): it serves them like its own, and its close() still drains the
 * requests in flight on them (the server never listened, so Node's close alone would not wait).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { devCf, type PopServer, startPopServer } from '../src/pop/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';

describe('a PoP server handed its connections', () => {
  let dir = '';
  let rt: Runtime;
  let server: PopServer;
  let front: Server;
  let frontPort = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-handed-'));
    writeFileSync(
      join(dir, 'wrangler.toml'),
      'name = "h"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n',
    );
    writeFileSync(
      join(dir, 'index.js'),
      'export default { async fetch(req) { await new Promise((r) => setTimeout(r, 300)); return new Response("slow " + new URL(req.url).host); } };\n',
    );
    const config = loadConfig(dir, { warn: () => {} });
    rt = new Runtime({ observer: memoryObserver(), poolSize: 1 });
    rt.deploy('h', await bundleWorker(config), config);
    server = await startPopServer({
      runtime: rt,
      route: () => 'h',
      handed: { slot: 0, of: 1 },
      port: 0,
      cf: devCf,
      observer: memoryObserver(),
    });
    // Stands in for the primary: each connection it accepts goes to the server as a handed one
    // (with no bytes read: the head comes on the socket).
    front = createServer((socket) => {
      process.emit('message', { type: 'outpost:connection', head: '' }, socket);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    frontPort = (front.address() as { port: number }).port;
  });
  after(async () => {
    front?.close();
    await rt?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Send a GET on a fresh connection; the whole raw answer once the connection ends. */
  const ask = (host: string): { socket: Socket; answer: Promise<string> } => {
    const socket = connect(frontPort, '127.0.0.1');
    socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    let raw = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      raw += c;
    });
    return { socket, answer: new Promise((resolve) => socket.on('close', () => resolve(raw))) };
  };

  it('serves them, and close() waits for the request in flight, then refuses new ones', async () => {
    assert.match(await ask('a.example').answer, /^HTTP\/1\.1 200[\s\S]*slow a\.example$/);
    const inFlight = ask('b.example');
    await new Promise((r) => setTimeout(r, 100));
    let closedAt = 0;
    const closing = server.close().then(() => {
      closedAt = performance.now();
    });
    const answer = await inFlight.answer;
    const answeredAt = performance.now();
    assert.match(answer, /^HTTP\/1\.1 200[\s\S]*slow b\.example$/, 'the request in flight finished');
    await closing;
    assert.ok(closedAt >= answeredAt - 1, 'close() settled only after it');
    assert.equal(await ask('c.example').answer, '', 'after close, a handed connection is closed unanswered');
  });
});
