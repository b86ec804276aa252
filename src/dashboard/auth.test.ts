import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import {
  apiAccess,
  CSRF_HEADER,
  loopbackAddress,
  loopbackHost,
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

  it('a session reads; its actions need its CSRF token; the token does everything', () => {
    const token = 'dashboard-test-token';
    const s = sessionsFor(token).create();
    const cookie = `${SESSION_COOKIE}=${s.id}`;
    assert.equal(apiAccess(request({ cookie }), token).access, 'session');
    assert.deepEqual(apiAccess(request({ cookie }, 'POST'), token), {
      access: null,
      refused: `missing or wrong CSRF token (${CSRF_HEADER})`,
    });
    assert.equal(
      apiAccess(request({ cookie, [CSRF_HEADER]: 'x'.repeat(s.csrf.length) }, 'POST'), token).access,
      null,
    );
    assert.equal(apiAccess(request({ cookie, [CSRF_HEADER]: s.csrf }, 'POST'), token).access, 'session');
    assert.equal(apiAccess(request({ cookie: `${SESSION_COOKIE}=forged` }), token).access, null);
    assert.equal(apiAccess(request({}), token).access, null, 'loopback alone is not the API’s key');
    assert.equal(apiAccess(request({ authorization: `Bearer ${token}` }, 'POST'), token).access, 'token');
    assert.equal(apiAccess(request({ cookie }), 'another-token').access, null, 'sessions belong to a token');
  });
});
