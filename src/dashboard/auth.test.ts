import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { describe, it } from 'node:test';
import {
  apiAccess,
  CSRF_HEADER,
  loopbackAddress,
  loopbackHost,
  mayMint,
  ownConnection,
  SESSION_COOKIE,
  sessionsFor,
} from './auth.ts';

const request = (headers: Record<string, string>, method = 'GET', remote = '127.0.0.1') =>
  ({ headers, method, socket: { remoteAddress: remote } }) as unknown as IncomingMessage;

describe('dashboard access', () => {
  it('knows loopback peers and Host names (a rebinding page’s Host names its own domain)', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) assert.ok(loopbackAddress(a), a);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '192.168.1.2', '', undefined, 'fe80::1'])
      assert.ok(!loopbackAddress(a), String(a));
    for (const h of [
      'localhost',
      'localhost:8787',
      'app.localhost:1',
      '127.0.0.1:8787',
      '[::1]:8787',
      'LOCALHOST',
    ])
      assert.ok(loopbackHost(h), h);
    for (const h of [
      'evil.example',
      'evil.example:8787',
      '127.0.0.1.evil.example',
      'localhost.evil.example',
      '',
      undefined,
    ])
      assert.ok(!loopbackHost(h), String(h));
  });

  it('a session reads what the views read; their actions need its CSRF token; the token does everything', () => {
    const token = 'dashboard-test-token';
    const s = sessionsFor(token).create(false);
    const cookie = `${SESSION_COOKIE}=${s.id}`;
    for (const read of ['do/objects', 'traces', 'network/stats'])
      assert.equal(apiAccess(request({ cookie }), token, read).access, 'session', read);
    assert.deepEqual(apiAccess(request({ cookie }, 'POST'), token, 'cache/purge'), {
      access: null,
      refused: `missing or wrong CSRF token (${CSRF_HEADER})`,
    });
    const forged = { cookie, [CSRF_HEADER]: 'x'.repeat(s.csrf.length) };
    assert.equal(apiAccess(request(forged, 'POST'), token, 'cache/purge').access, null);
    const csrf = { cookie, [CSRF_HEADER]: s.csrf };
    assert.equal(apiAccess(request(csrf, 'POST'), token, 'cache/purge').access, 'session');
    assert.equal(apiAccess(request(csrf, 'POST'), token, 'network/pops/LHR').access, 'session');
    // The rest of the admin API is the token's alone.
    for (const [method, path] of [
      ['POST', 'analytics/sql'],
      ['POST', 'scheduled'],
      ['GET', 'workflows'],
      ['GET', 'scheduled'],
      ['HEAD', 'tail'],
    ])
      assert.match(
        String(apiAccess(request(csrf, method), token, path).refused),
        /needs the admin token/,
        path,
      );
    assert.equal(apiAccess(request({ cookie: `${SESSION_COOKIE}=forged` }), token, 'tail').access, null);
    assert.equal(apiAccess(request({}), token, 'tail').access, null, 'loopback alone is not the API’s key');
    assert.equal(
      apiAccess(request({ authorization: `Bearer ${token}` }, 'POST'), token, 'analytics/sql').access,
      'token',
    );
    assert.equal(
      apiAccess(request({ cookie }), 'another-token', 'tail').access,
      null,
      'sessions belong to a token',
    );
  });

  it('a session made without the token is honoured only from loopback', () => {
    const token = 'dashboard-test-token-2';
    const s = sessionsFor(token).create(true);
    const cookie = `${SESSION_COOKIE}=${s.id}`;
    assert.equal(apiAccess(request({ cookie }), token, 'tail').access, 'session');
    assert.equal(apiAccess(request({ cookie }, 'GET', '10.0.0.9'), token, 'tail').access, null);
    const t = sessionsFor(token).create(false);
    assert.equal(
      apiAccess(request({ cookie: `${SESSION_COOKIE}=${t.id}` }, 'GET', '10.0.0.9'), token, 'tail').access,
      'session',
    );
  });

  it('makes a session without the token only for a browser’s own navigation, from loopback, with no proxy', () => {
    const nav = {
      host: '127.0.0.1:8787',
      'sec-fetch-site': 'none',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    };
    const at = (headers: Record<string, string>, remote = '127.0.0.1') =>
      mayMint({
        headers,
        method: 'GET',
        socket: { remoteAddress: remote, remotePort: 1, localPort: 2 },
      } as never);
    assert.equal(at(nav), true);
    assert.equal(
      at({ ...nav, 'sec-fetch-site': 'same-origin' }),
      false,
      'a page’s script (window.open, fetch)',
    );
    assert.equal(at({ ...nav, 'sec-fetch-mode': 'cors' }), false);
    assert.equal(at({ ...nav, 'sec-fetch-dest': 'iframe' }), false);
    assert.equal(at({ host: nav.host }), false, 'not a browser navigation');
    assert.equal(at({ ...nav, 'x-forwarded-for': '203.0.113.9' }), false, 'through a proxy');
    assert.equal(at({ ...nav, via: '1.1 nginx' }), false);
    assert.equal(at({ ...nav, host: 'rebind.example:8787' }), false, 'a rebinding page');
    assert.equal(at(nav, '10.0.0.5'), false);
  });

  it('tells a connection this process made (a worker’s subrequest) from another (Linux)', async (t) => {
    if (process.platform !== 'linux') return t.skip('reads /proc');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const seen = new Promise<[number | undefined, number | undefined]>((r) =>
      server.once('connection', (sock) => r([sock.remotePort, sock.localPort])),
    );
    const client = connect(port, '127.0.0.1');
    const [peer, local] = await seen;
    assert.equal(ownConnection(peer, local), true, 'our own socket');
    client.destroy();
    // A connection from another process.
    const other = spawn('node', [
      '-e',
      `require('net').connect(${port}, '127.0.0.1', () => setTimeout(() => {}, 2000))`,
    ]);
    const [p2, l2] = await new Promise<[number | undefined, number | undefined]>((r) =>
      server.once('connection', (sock) => r([sock.remotePort, sock.localPort])),
    );
    assert.equal(ownConnection(p2, l2), false, 'another process’s socket');
    other.kill();
    server.close();
  });
});
