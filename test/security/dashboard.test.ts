// The dashboard at /__outpost/ (src/dashboard/): who gets in (a loopback visitor, the token's
// login, never a rebinding page), what a session may do (reads; actions only with its CSRF
// token), and that the page never carries the admin token or a worker's secret. The views
// themselves, in a browser: test/dashboard-browser.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startFixture, type TestDev } from '../helpers.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the Host header given (fetch() would not let a test set it). */
function send(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * `send` from another process: the server runs in this one, and a connection this process
 * made is a worker's subrequest to the dashboard, never given a session (src/dashboard/auth.ts).
 */
async function sendApart(url: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const script = `
const u = new URL(${JSON.stringify(url)});
const req = require('node:http').request({ host: u.hostname, port: u.port, path: ${JSON.stringify(path)}, headers: ${JSON.stringify(headers)} }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => (body += d));
  res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, headers: res.headers, body })));
});
req.end();`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  return JSON.parse(out) as Answer;
}

/** What a browser sends when it opens a URL itself (typed, bookmarked, from the terminal). */
const NAVIGATION = { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

const sessionOf = (a: Answer) => {
  const set = [a.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('outpost_session='));
  return set ? set.split(';')[0] : null;
};
const csrfOf = (html: string) =>
  JSON.parse(/<script type="application\/json" id="outpost-config">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}')
    .csrf as string;

describe('the dashboard', () => {
  let dev: TestDev;
  const SECRET = 'dashboard-secret-value-7f3a';
  let project: ReturnType<typeof copyFixture>;
  before(async () => {
    project = copyFixture('kv');
    writeFileSync(join(project.dir, '.dev.vars'), `API_KEY=${SECRET}\n`);
    // The kv fixture, and /self?u=URL: the worker fetches URL as a browser's navigation would
    // (the headers a worker may send as it likes), saying what it got.
    writeFileSync(
      join(project.dir, 'src', 'dash.ts'),
      `import kv from './index.ts';
export default {
  async fetch(request: Request, env: unknown, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== '/self') return kv.fetch(request, env as never, ctx);
    const r = await fetch(url.searchParams.get('u') ?? '', {
      headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    });
    return Response.json({ status: r.status, cookie: r.headers.get('set-cookie') });
  },
};
`,
    );
    const toml = join(project.dir, 'wrangler.toml');
    writeFileSync(toml, readFileSync(toml, 'utf8').replace('main = "src/index.ts"', 'main = "src/dash.ts"'));
    dev = await startFixture(project.dir);
  });
  after(async () => {
    await dev?.close();
    project?.cleanup();
  });

  it('a loopback visitor gets the page and a session; the page holds no admin token or secret', async () => {
    const r = await sendApart(dev.url, '/__outpost/', { host: new URL(dev.url).host, ...NAVIGATION });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    const cookie = sessionOf(r);
    assert.ok(cookie, 'a session cookie');
    assert.match(String(r.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    assert.ok(csrfOf(r.body).length >= 32, 'a CSRF token for the page');
    const js = await send(dev.url, '/__outpost/ui/app.js', { headers: { cookie } });
    assert.equal(js.status, 200);
    assert.ok(js.body.length > 1000, 'the client bundle');
    for (const text of [r.body, js.body]) {
      assert.ok(!text.includes(dev.adminToken), 'the admin token is never sent to the browser');
      assert.ok(!text.includes(SECRET), 'nor a worker secret');
    }
  });

  it('no session without the token for what is not a browser’s own navigation, or comes through a proxy', async () => {
    const host = new URL(dev.url).host;
    for (const [what, headers] of [
      ['a plain client (curl)', { host }],
      ['a page’s script (fetch, window.open)', { host, ...NAVIGATION, 'sec-fetch-site': 'same-origin' }],
      ['through a proxy on this machine', { host, ...NAVIGATION, 'x-forwarded-for': '203.0.113.7' }],
      ['through a proxy (Via)', { host, ...NAVIGATION, via: '1.1 proxy' }],
    ] as const) {
      const r = await sendApart(dev.url, '/__outpost/', { ...headers });
      assert.equal(r.status, 401, what);
      assert.equal(sessionOf(r), null, what);
    }
  });

  it('a connection this process made gets no session, whatever it sends (a worker’s subrequest is one)', async () => {
    const r = await send(dev.url, '/__outpost/', { headers: { host: new URL(dev.url).host, ...NAVIGATION } });
    assert.equal(r.status, 401);
    assert.equal(sessionOf(r), null);
  });

  it('a worker’s own fetch() to the dashboard gets no session (it can send any header)', async () => {
    const r = await fetch(`${dev.url}/self?u=${encodeURIComponent(`${dev.url}/__outpost/`)}`);
    const body = (await r.json()) as { status: number; cookie: string | null };
    assert.equal(body.status, 401);
    assert.equal(body.cookie, null);
  });

  it('a page reached under another name (DNS rebinding) gets the login form, 401', async () => {
    const port = new URL(dev.url).port;
    const r = await send(dev.url, '/__outpost/', {
      headers: { host: `rebind.example:${port}`, ...NAVIGATION },
    });
    assert.equal(r.status, 401);
    assert.match(r.body, /name="token"/);
    assert.equal(sessionOf(r), null);
    const api = await send(dev.url, '/__outpost/do/objects', {
      headers: { host: `rebind.example:${port}`, ...NAVIGATION },
    });
    assert.equal(api.status, 401);
    const js = await send(dev.url, '/__outpost/ui/app.js', { headers: { host: `rebind.example:${port}` } });
    assert.equal(js.status, 401);
  });

  it('the login form takes the admin token, and only it', async () => {
    const port = new URL(dev.url).port;
    const host = `dash.example:${port}`;
    const form = (token: string) => ({
      method: 'POST',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    const wrong = await send(dev.url, '/__outpost/login', form(`${dev.adminToken}x`));
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /not the admin token/);
    assert.equal(sessionOf(wrong), null);
    const right = await send(dev.url, '/__outpost/login', form(dev.adminToken));
    assert.equal(right.status, 303);
    assert.equal(right.headers.location, '/__outpost/');
    const cookie = sessionOf(right);
    assert.ok(cookie);
    const page = await send(dev.url, '/__outpost/', { headers: { host, cookie } });
    assert.equal(page.status, 200);
  });

  it('a session reads the admin API; its actions need its CSRF token', async () => {
    const page = await sendApart(dev.url, '/__outpost/', { host: new URL(dev.url).host, ...NAVIGATION });
    const cookie = sessionOf(page) ?? '';
    const csrf = csrfOf(page.body);
    const read = await send(dev.url, '/__outpost/do/objects', { headers: { cookie } });
    assert.equal(read.status, 200);
    const purge = (headers: Record<string, string>) =>
      send(dev.url, '/__outpost/cache/purge', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ purge_everything: true }),
      });
    const without = await purge({});
    assert.equal(without.status, 403);
    assert.match(without.body, /CSRF/);
    assert.equal((await purge({ 'x-outpost-csrf': 'forged-forged-forged-forged-forged' })).status, 403);
    const ok = await purge({ 'x-outpost-csrf': csrf });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).success, true);
    // Without a session or the token, the API is closed, loopback or not.
    assert.equal((await send(dev.url, '/__outpost/do/objects')).status, 401);
  });

  it('the endpoints the views added answer a session or the token only; a session’s rollback needs its CSRF token', async () => {
    for (const p of [
      'traces',
      'traces?ray=x-LHR',
      'requests',
      'network/stats',
      'cache/stats',
      'workers',
      'ui/land.json',
    ])
      assert.equal((await send(dev.url, `/__outpost/${p}`)).status, 401, p);
    const page = await sendApart(dev.url, '/__outpost/', { host: new URL(dev.url).host, ...NAVIGATION });
    const cookie = sessionOf(page) ?? '';
    for (const p of ['traces', 'network/stats', 'cache/stats', 'workers', 'ui/land.json'])
      assert.equal((await send(dev.url, `/__outpost/${p}`, { headers: { cookie } })).status, 200, p);
    const rollback = await send(dev.url, '/__outpost/deployments/hello/rollback', {
      method: 'POST',
      headers: { cookie },
    });
    assert.equal(rollback.status, 403);
    assert.match(rollback.body, /CSRF/);
  });

  it('a traced request’s credentials stay out of its trace', async () => {
    const auth = { authorization: `Bearer ${dev.adminToken}` };
    const controller = new AbortController();
    const tail = await fetch(`${dev.url}/__outpost/tail?traces=1`, {
      headers: auth,
      signal: controller.signal,
    });
    assert.equal(tail.status, 200);
    try {
      const r = await fetch(`${dev.url}/?token=query-secret`, {
        headers: { authorization: 'Bearer header-secret', cookie: 'session=cookie-secret' },
      });
      await r.text();
      const ray = r.headers.get('cf-ray');
      let body = '';
      for (let i = 0; i < 50 && !body.includes('"spans"'); i++) {
        body = (await send(dev.url, `/__outpost/traces?ray=${ray}`, { headers: auth })).body;
        if (!body.includes('"spans"')) await new Promise((res) => setTimeout(res, 20));
      }
      assert.match(body, /"spans"/);
      assert.ok(!body.includes('header-secret') && !body.includes('cookie-secret'), body);
    } finally {
      controller.abort();
    }
  });

  it('the live stream the Requests view opens takes at most max_rate events a second', async () => {
    const auth = { authorization: `Bearer ${dev.adminToken}` };
    assert.equal((await send(dev.url, '/__outpost/tail?max_rate=0', { headers: auth })).status, 400);
    const controller = new AbortController();
    const res = await fetch(`${dev.url}/__outpost/tail?max_rate=3`, {
      headers: auth,
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += Buffer.from(value as Uint8Array).toString('utf8');
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    // 20 requests within well under a second: 3 events, the rest dropped (said in a comment).
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${dev.url}/get?key=rate-${i}`).then((r) => r.text())),
    );
    const started = Date.now();
    while (!/: dropped \d+/.test(text) && Date.now() - started < 3000) {
      await fetch(`${dev.url}/get?key=more`).then((r) => r.text());
      await new Promise((r) => setTimeout(r, 50));
    }
    controller.abort();
    await reading;
    const events = text.split('\n').filter((l) => l.startsWith('data: '));
    assert.ok(
      events.length >= 3 && events.length <= 9,
      `${events.length} events for ~1-3 seconds at 3 a second`,
    );
    assert.match(text, /: dropped \d+/);
  });
});
