/**
 * The built CLI (`npm run build` → scripts/bundle.mjs): the one-file bundle run through its
 * loader, as bin/outpost.mjs runs it after a build. What the bundle must still find relative to
 * itself (package.json, the isolate sources, the SQL host process, the tracing export thread) and
 * the code cache the loader writes and reads.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BuiltCopy, builtCopy } from './support/bundle.ts';

const WORKER = `import { DurableObject } from 'cloudflare:workers';
export class Counter extends DurableObject {
  async fetch() {
    const sql = this.ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS hits (at INTEGER)');
    sql.exec('INSERT INTO hits VALUES (?)', Date.now());
    return new Response(String(sql.exec('SELECT count(*) AS n FROM hits').one().n));
  }
}
export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === '/count') return env.COUNTER.get(env.COUNTER.idFromName('a')).fetch(req);
    if (path === '/sub') return new Response('origin said ' + (await (await fetch(env.ORIGIN)).text()));
    if (path === '/rewrite')
      return new HTMLRewriter()
        .on('h1', { element(e) { e.setInnerContent('rewritten'); } })
        .transform(new Response('<h1>original</h1>', { headers: { 'content-type': 'text/html' } }));
    return new Response('hello from the bundle ' + new Intl.NumberFormat('en-US').format(1234.5));
  },
};
`;
const CONFIG = (origin: string) => `name = "bundled"
main = "w.js"
compatibility_date = "2025-06-01"
[vars]
ORIGIN = "${origin}"
[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
`;

/**
 * `outpost dev` through the built loader; resolves with its URL once it is ready, and with what
 * the loader said of its code cache (OUTPOST_DEBUG_CODE_CACHE).
 */
function startDev(
  built: BuiltCopy,
  dir: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; url: string; codeCache: string }> {
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '--expose-gc', built.loader, 'dev', dir, '--port', '0', '--no-watch', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OUTPOST_DEBUG_CODE_CACHE: '1' } },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`outpost dev (bundle) did not start in 30 s:\n${out}`));
    }, 30_000);
    const read = (d: Buffer) => {
      out += d;
      const m = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], codeCache: /code cache \S+: (\w+)/.exec(out)?.[1] ?? 'not said' });
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`outpost dev (bundle) exited with ${code}:\n${out}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('the built CLI (one-file bundle through its loader)', () => {
  let built: BuiltCopy;
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bundled-'));
  const origin = createServer((_req, res) => res.end('hi from the origin'));
  /** What an OTLP/HTTP collector received: each request's content type and body. */
  const exports: { type: string; body: Buffer }[] = [];
  const collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exports.push({ type: String(req.headers['content-type']), body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  before(async () => {
    built = await builtCopy();
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    writeFileSync(join(dir, 'w.js'), WORKER);
    writeFileSync(
      join(dir, 'wrangler.toml'),
      CONFIG(`http://127.0.0.1:${(origin.address() as AddressInfo).port}/`),
    );
  });
  after(() => {
    built?.remove();
    origin.close();
    collector.close();
  });

  it('prints the version of the package.json beside it', () => {
    const out = execFileSync(
      process.execPath,
      ['--no-node-snapshot', '--expose-gc', built.loader, '--version'],
      {
        encoding: 'utf8',
      },
    );
    const { version } = JSON.parse(readFileSync(join(built.root, 'package.json'), 'utf8'));
    assert.equal(out.trim(), `outpost ${version}`);
  });

  it('serves a worker (a subrequest, HTMLRewriter, Intl) and a Durable Object with SQL storage (the SQL host process found beside it), then starts again from its code cache', async () => {
    const cacheDir = join(built.root, 'node_modules', '.cache', 'outpost');
    const caches = () => {
      try {
        return readdirSync(cacheDir).filter((f) => f.startsWith('bundle-') && f.endsWith('.v8'));
      } catch {
        return [];
      }
    };
    const before = new Set(caches());
    const first = await startDev(built, dir);
    try {
      assert.equal(first.codeCache, 'none');
      const hello = await fetch(`${first.url}/`);
      assert.equal(await hello.text(), 'hello from the bundle 1,234.5');
      assert.equal(await (await fetch(`${first.url}/count`)).text(), '1');
      assert.equal(await (await fetch(`${first.url}/sub`)).text(), 'origin said hi from the origin');
      assert.equal(await (await fetch(`${first.url}/rewrite`)).text(), '<h1>rewritten</h1>');
      // The dashboard's client, bundled from src/dashboard/client/ (found from dist/cli/).
      // As a browser opens it itself (src/dashboard/auth.ts): a session without the token.
      // node:http, not fetch(), which sends its own Sec-Fetch-Mode.
      const page = await new Promise<IncomingMessage>((resolve, reject) =>
        httpGet(
          `${first.url}/__outpost/`,
          {
            headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
          },
          resolve,
        ).on('error', reject),
      );
      page.resume();
      assert.equal(page.statusCode, 200);
      const cookie = String(page.headers['set-cookie'] ?? '').split(';')[0];
      const client = await fetch(`${first.url}/__outpost/ui/app.js`, { headers: { cookie } });
      assert.equal(client.status, 200, await client.clone().text());
      assert.ok((await client.text()).length > 1000, 'the client bundle');
      // The loader writes the cache once the process has run for two seconds.
      const deadline = Date.now() + 10_000;
      while (!caches().some((f) => !before.has(f)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      assert.ok(
        caches().some((f) => !before.has(f)),
        `a code cache for this bundle in ${cacheDir} (have: ${caches()})`,
      );
    } finally {
      await stop(first.child);
    }
    // Started again, from the cache: the same answers, the object's storage kept; traced this
    // time, its spans exported from the export thread's file beside the bundle.
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
    const second = await startDev(built, dir, ['--trace-endpoint', endpoint, '--trace-sample', '1']);
    try {
      assert.equal(second.codeCache, 'used', 'V8 took the cache the first start wrote');
      assert.equal(await (await fetch(`${second.url}/`)).text(), 'hello from the bundle 1,234.5');
      assert.equal(await (await fetch(`${second.url}/sub`)).text(), 'origin said hi from the origin');
      assert.equal(await (await fetch(`${second.url}/count`)).text(), '2');
      const deadline = Date.now() + 10_000;
      while (exports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(exports.length > 0, 'the collector received an export');
      assert.equal(exports[0].type, 'application/x-protobuf');
      assert.ok(exports[0].body.includes('bundled'), 'the export names the worker');
    } finally {
      await stop(second.child);
    }
  });
});
