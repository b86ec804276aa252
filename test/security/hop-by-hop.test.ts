// Hop-by-hop fields (RFC 9110 §7.6.1) on every path through the PoP: a field the sender's
// Connection names belongs to that connection and must not be forwarded — from a client to the
// worker, from a worker's response to the client, from a worker's subrequest to its upstream.
// (A client could otherwise smuggle a field past a policy that strips it, or a worker leak one.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFixture, startUpstream, type TestDev, type Upstream } from '../helpers.ts';

/** A GET with exactly these raw headers (fetch() would refuse Connection). */
function get(
  url: string,
  headers: Record<string, string>,
): Promise<{ headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(url, { headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ headers: res.headers, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('hop-by-hop fields are not forwarded', () => {
  let dir: string;
  let dev: TestDev;
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
    upstream.routes.set('/headers', (req, res) => res.end(JSON.stringify(req.headers)));
    dir = mkdtempSync(join(tmpdir(), 'outpost-hop-'));
    writeFileSync(
      join(dir, 'wrangler.toml'),
      'name = "hop"\nmain = "w.js"\ncompatibility_date = "2025-01-01"\n',
    );
    writeFileSync(
      join(dir, 'w.js'),
      `export default {
        async fetch(request) {
          const url = new URL(request.url);
          if (url.pathname === '/seen') return Response.json(Object.fromEntries(request.headers));
          if (url.pathname === '/respond')
            return new Response('ok', { headers: { connection: 'x-internal', 'x-internal': 'secret', 'x-public': 'yes' } });
          const r = await fetch(url.searchParams.get('up'), { headers: { connection: 'x-hop', 'x-hop': '1', 'x-end': '2' } });
          return new Response(await r.text());
        },
      };`,
    );
    dev = await startFixture(dir);
  });
  after(async () => {
    await dev.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a client’s Connection-listed field does not reach the worker', async () => {
    const r = await get(`${dev.url}/seen`, {
      connection: 'x-smuggled, keep-alive',
      'x-smuggled': 'evil',
      'x-fine': 'ok',
    });
    const seen = JSON.parse(r.body) as Record<string, string>;
    assert.equal(seen['x-smuggled'], undefined);
    assert.equal(seen['x-fine'], 'ok');
    assert.equal(seen.connection, undefined);
  });

  it('a worker response’s Connection-listed field does not reach the client', async () => {
    const r = await get(`${dev.url}/respond`, {});
    assert.equal(r.headers['x-internal'], undefined);
    assert.equal(r.headers['x-public'], 'yes');
  });

  it('a worker subrequest’s Connection-listed field does not reach its upstream', async () => {
    const r = await get(`${dev.url}/sub?up=${encodeURIComponent(`${upstream.url}/headers`)}`, {});
    const seen = JSON.parse(r.body) as Record<string, string>;
    assert.equal(seen['x-hop'], undefined);
    assert.equal(seen['x-end'], '2');
  });
});
