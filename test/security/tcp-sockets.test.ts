// connect() (cloudflare:sockets, and node:net / node:tls over it) reaches only what the egress
// policy allows, as fetch() does: cloud metadata, private and mapped forms of them are refused
// naming the rule, and so is SMTP's port 25. The single dev PoP allows loopback only because
// `outpost dev` does (docs/security.md).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixture, type TestDev } from '../helpers.ts';

let dev: TestDev;
before(async () => {
  dev = await startFixture('node-net');
});
after(() => dev?.close());

const attempt = async (to: string) => (await fetch(`${dev.url}/refused?to=${encodeURIComponent(to)}`)).text();

describe('TCP sockets and the egress policy', () => {
  for (const to of [
    '169.254.169.254:80',
    '10.0.0.1:5432',
    '192.168.1.1:22',
    '[::ffff:10.0.0.1]:80',
    '[fd00::1]:80',
    '100.64.0.1:80',
  ])
    it(`refuses ${to}`, async () => {
      const r = await attempt(to);
      assert.notEqual(r, 'connected');
      assert.match(r, /not allowed|refused|private|link-local|cgnat/i);
    });
  it('refuses port 25 even where the address is allowed', async () => {
    assert.match(await attempt('127.0.0.1:25'), /port 25 are not allowed/);
  });
});
