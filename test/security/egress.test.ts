// Attacks on the network behind a PoP through a worker's fetch(): before the egress policy, a
// tenant reached the PoP's loopback services (here: an "internal" server on 127.0.0.1 that
// stands for the admin endpoints or a local database), the cloud metadata address and private
// networks, by literal address in any spelling, by a name that resolves to loopback, by a
// redirect from an allowed origin, and by an outgoing WebSocket. Each is refused before a
// connection is made; the operator's allow-list still works, and a neighbour is unaffected.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ipBytes, validateProxyConfig } from '../../src/config/index.ts';
import { classify } from '../../src/runtime/egress.ts';
import { startFixture, startTenants, startUpstream, type TestNetwork, type Upstream } from '../helpers.ts';

let net: TestNetwork;
/** An internal service on loopback the policy must keep tenants away from. */
let internal: Upstream;
/** An origin on loopback the operator allows (by address and port): it stands for a public one. */
let allowed: Upstream;
let port: string;

before(async () => {
  internal = await startUpstream();
  allowed = await startUpstream();
  port = new URL(internal.url).port;
  const allowedPort = new URL(allowed.url).port;
  allowed.routes.set('/to-internal', (_req, res) => {
    res.writeHead(302, { location: `${internal.url}/json` });
    res.end();
  });
  allowed.routes.set('/to-localhost', (_req, res) => {
    res.writeHead(307, { location: `http://localhost:${port}/echo` });
    res.end();
  });
  // The default policy (a network's), plus the one origin the operator allows.
  net = await startTenants(
    { attacker: 'egress', neighbour: 'api' },
    { egress: { allow: [`127.0.0.1:${allowedPort}`] } },
  );
});
after(async () => {
  await net.close();
  await internal.close();
  await allowed.close();
});

interface Answer {
  status?: number;
  body?: string;
  error?: string;
  message?: string;
}

async function attempt(u: string, method = 'GET', path = '/fetch'): Promise<Answer> {
  const q = new URLSearchParams({ u, method });
  return (await (await net.fetchAs('attacker', `${path}?${q}`)).json()) as Answer;
}

function assertRefused(a: Answer, kind: RegExp, what: string) {
  assert.equal(a.error, 'TypeError', `${what}: ${JSON.stringify(a)}`);
  assert.match(a.message ?? '', /refused: .* outside this network's egress policy \(allow them with/, what);
  assert.match(a.message ?? '', kind, what);
}

describe('egress: worker fetch() into the network behind the PoP', () => {
  it('loopback by literal address, in every spelling the URL parser accepts, is refused unconnected', async () => {
    const before = internal.hits.get('/json') ?? 0;
    for (const host of [
      '127.0.0.1',
      '127.1',
      '2130706433',
      '0x7f.1',
      '0x7f000001',
      '0177.0.0.1',
      '127.255.255.254',
      '[::1]',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
      '[0:0:0:0:0:ffff:127.0.0.1]',
      '[64:ff9b::127.0.0.1]',
      '[2002:7f00:1::]',
    ])
      for (const method of ['GET', 'POST'])
        assertRefused(await attempt(`http://${host}:${port}/json`, method), /loopback/, `${method} ${host}`);
    assert.equal(internal.hits.get('/json') ?? 0, before, 'the internal service was never reached');
  });

  it('a name that resolves to loopback is refused on the address it resolved to', async () => {
    const a = await attempt(`http://localhost:${port}/json`);
    assertRefused(a, /fetch to localhost \((127\.0\.0\.1|::1)\) refused: loopback/, 'localhost');
    assertRefused(await attempt(`http://LocalHost:${port}/json`, 'POST'), /loopback/, 'LocalHost');
  });

  it('unspecified, private, link-local (metadata), CGNAT, multicast and reserved addresses are refused', async () => {
    const cases: [string, RegExp][] = [
      [`0.0.0.0:${port}`, /unspecified/],
      [`0:${port}`, /unspecified/],
      [`[::]:${port}`, /unspecified/],
      ['169.254.169.254', /link-local/],
      ['[fe80::1]', /link-local/],
      ['[::ffff:169.254.169.254]', /link-local/],
      ['10.0.0.1', /private/],
      ['172.16.5.4', /private/],
      ['192.168.1.1', /private/],
      ['[fd00::1]', /private/],
      ['[::ffff:10.1.2.3]', /private/],
      ['100.64.0.1', /carrier-grade NAT/],
      ['224.0.0.1', /multicast/],
      ['[ff02::1]', /multicast/],
      ['255.255.255.255', /reserved/],
      ['192.0.2.1', /reserved/],
      ['[2001:db8::1]', /reserved/],
    ];
    for (const [host, kind] of cases) assertRefused(await attempt(`http://${host}/`), kind, host);
  });

  it('a redirect from an allowed origin to an internal address is refused at that hop', async () => {
    const before = internal.hits.get('/json') ?? 0;
    // GET follows redirects hop by hop through the cache; POST lets undici follow them.
    for (const method of ['GET', 'POST'])
      assertRefused(await attempt(`${allowed.url}/to-internal`, method), /loopback/, `${method} redirect`);
    assertRefused(await attempt(`${allowed.url}/to-localhost`), /loopback/, 'GET 307 to localhost');
    assert.equal(internal.hits.get('/json') ?? 0, before);
    assert.equal(allowed.hits.get('/to-internal'), 2, 'the allowed origin was reached');
  });

  it('an outgoing WebSocket to loopback is refused', async () => {
    for (const u of [`ws://127.0.0.1:${port}/`, `ws://localhost:${port}/`, `http://[::1]:${port}/`]) {
      const a = await attempt(u, 'GET', '/ws');
      assert.match(a.message ?? '', /refused: loopback addresses are outside/, `${u}: ${JSON.stringify(a)}`);
    }
  });

  it("the operator's allow-list works, and a neighbour is unaffected", async () => {
    const ok = await attempt(`${allowed.url}/json?x=1`);
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body ?? '{}').query, '?x=1');
    // The allowed entry names one port: the same address on another port stays refused.
    assertRefused(await attempt(`${internal.url}/json`), /loopback/, 'other port');
    assert.equal((await net.fetchAs('neighbour', '/status?s=204')).status, 204);
  });
});

describe('egress: the policy by mode', () => {
  it('`outpost dev` on one PoP allows loopback and still refuses private and metadata addresses', async () => {
    const dev = await startFixture('egress');
    try {
      const get = async (u: string) =>
        (await (await fetch(`${dev.url}/fetch?${new URLSearchParams({ u })}`)).json()) as Answer;
      assert.equal((await get(`${internal.url}/json`)).status, 200);
      assertRefused(await get('http://169.254.169.254/latest/meta-data/'), /link-local/, 'metadata');
      assertRefused(await get('http://10.0.0.1/'), /private/, 'private');
      assertRefused(await get(`http://0.0.0.0:${port}/json`), /unspecified/, '0.0.0.0');
    } finally {
      await dev.close();
    }
  });

  it('a network (a topology) refuses loopback unless the operator allows it', async () => {
    const dev = await startFixture('egress', { topology: 'world' });
    try {
      const a = (await (
        await fetch(`${dev.url}/fetch?${new URLSearchParams({ u: `${internal.url}/json` })}`)
      ).json()) as Answer;
      assertRefused(a, /loopback/, 'network');
    } finally {
      await dev.close();
    }
  });

  it('[egress] allow is validated, naming the key and the entry', () => {
    const ok = validateProxyConfig(
      { egress: { allow: ['10.0.0.0/8', 'api.internal:8080', '[::1]:9000', 'loopback', 'fd00::/8'] } },
      'outpost.toml',
      '/tmp',
    );
    assert.equal(ok.egressAllow.length, 5);
    for (const bad of ['10.0.0.0/33', 'api.internal:99999', 'http://x/', '2130706433', 'a:b:c'])
      assert.throws(
        () => validateProxyConfig({ egress: { allow: [bad] } }, 'outpost.toml', '/tmp'),
        (err: Error) => err.message.includes('"egress.allow"') && err.message.includes(bad),
        bad,
      );
  });

  it('classifies addresses as the policy documents', () => {
    const kind = (ip: string) => classify(ipBytes(ip) as Uint8Array);
    assert.equal(kind('93.184.216.34'), null);
    assert.equal(kind('2606:4700::1111'), null);
    assert.equal(kind('::ffff:8.8.8.8'), null);
    assert.equal(kind('127.0.0.1'), 'loopback');
    assert.equal(kind('::ffff:127.0.0.1'), 'loopback');
    assert.equal(kind('100.127.255.255'), 'cgnat');
    assert.equal(kind('100.128.0.0'), null);
    assert.equal(kind('172.32.0.1'), null);
    assert.equal(kind('fe80::1%eth0'), 'link-local');
    assert.equal(kind('::'), 'unspecified');
    assert.equal(kind('::2'), 'reserved');
  });
});
