// Baselines: the plainest node:http server doing the same work as each bench worker.
//   hello  — 'Hello World!'
//   echo   — the request's headers as JSON (bench/fixtures/echo)
//   hono   — the JSON route of bench/fixtures/hono (path parameter, query, JSON body)
//   stream — 1 MB in 16 KB chunks, written with back-pressure
//   d1     — one row by primary key with better-sqlite3 called directly, as JSON
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CREATE, rows } from '../d1-data.ts';

const scenario = process.argv[2] ?? 'hello';
// cache1k / cache100k: the same bytes the proxy bench serves from its cache, from memory.
const cached = Buffer.alloc(scenario === 'cache100k' ? 100 * 1024 : 1024, 97);
const chunk = Buffer.alloc(16 * 1024, 97);

// d1: the bench table in a file, as D1 keeps it (bench/d1-data.ts).
let byId: Database.Statement | null = null;
if (scenario === 'd1') {
  const db = new Database(join(mkdtempSync(join(tmpdir(), 'outpost-bench-sqlite-')), 'bench.sqlite'));
  db.exec(CREATE);
  const insert = db.prepare('INSERT INTO users VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const r of rows()) insert.run(...r);
  })();
  byId = db.prepare('SELECT id, name, email FROM users WHERE id = ?');
}

const server = createServer(async (req, res) => {
  if (byId) {
    const id = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '1');
    const body = JSON.stringify(byId.get(id) ?? null);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return res.end(body);
  }
  if (scenario === 'hono') {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/users\/([^/]+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404);
      return res.end();
    }
    const body = JSON.stringify({ id: m[1], fields: url.searchParams.get('fields') ?? 'all', ok: true });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return res.end(body);
  }
  if (scenario === 'echo') {
    const body = JSON.stringify(req.headers);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return res.end(body);
  }
  if (scenario.startsWith('cache')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': cached.length });
    return res.end(cached);
  }
  if (scenario === 'stream') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (let i = 0; i < 64; i++) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    return res.end();
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '12' });
  res.end('Hello World!');
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('SIGINT', () => process.exit(0));
