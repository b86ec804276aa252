import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket, { type Packet } from 'dns-packet';
import { dnsQuery } from './dns-client.ts';
import { type GeoDnsServer, parseLocation, Router, startGeoDns, tableLocator } from './index.ts';
import { builtinTopology } from './topology/builtin.ts';

const world = builtinTopology('world')!;
const router = new Router(world);
const addresses = Object.fromEntries(
  world.pops.map((p, i) => [p.id, { a: [`192.0.2.${i + 1}`], aaaa: [`2001:db8::${i + 1}`] }]),
);
const addressOf = (id: string) => addresses[id].a[0];
let server: GeoDnsServer;

before(async () => {
  server = await startGeoDns({
    hostname: 'edge.example.com',
    router,
    addresses,
    locate: tableLocator(
      [
        { cidr: '203.0.113.0/24', location: 'Mumbai' },
        { cidr: '198.51.100.0/24', location: 'Frankfurt' },
      ],
      world,
    ),
    fallback: parseLocation('San Francisco', world),
    port: 0,
  });
});
after(() => server.close());

function query(q: { questions?: { type: 'A' | 'AAAA'; name: string }[] }, ecs?: string): Promise<Packet> {
  return dnsQuery(server.port, q.questions?.[0] ?? { type: 'A', name: 'edge.example.com' }, ecs);
}

const data = (p: Packet) => (p.answers ?? []).map((a) => (a as { data: string }).data);

describe('GeoDNS', () => {
  it('answers with the nearest PoP for the EDNS Client Subnet, echoing the option', async () => {
    const r = await query({}, '203.0.113.0');
    assert.deepEqual(data(r), [addressOf('BOM')]);
    assert.equal((r.answers?.[0] as { ttl: number }).ttl, 30);
    const opt = r.additionals?.find((a) => a.type === 'OPT') as { options: { code: number; ip: string }[] };
    assert.equal(opt.options[0].ip, '203.0.113.0');
    assert.deepEqual(data(await query({}, '198.51.100.0')), [addressOf('FRA')]);
  });
  it('without a client subnet it places the resolver, else routes from the fallback; AAAA too', async () => {
    assert.deepEqual(data(await query({})), [addressOf('SFO')]);
    const six = await query({ questions: [{ type: 'AAAA', name: 'edge.example.com' }] }, '203.0.113.0');
    assert.deepEqual(data(six), [addresses.BOM.aaaa[0]]);
  });
  it('a PoP that is down is not answered; other names are refused', async () => {
    router.setHealthy('BOM', false);
    try {
      assert.deepEqual(data(await query({}, '203.0.113.0')), [addressOf('DXB')]);
    } finally {
      router.setHealthy('BOM', true);
    }
    const other = await query({ questions: [{ type: 'A', name: 'other.example.com' }] });
    assert.equal((other as Packet & { rcode?: string }).rcode, 'REFUSED');
    assert.deepEqual(data(other), []);
  });
  it('answers over TCP too', async () => {
    const reply = await new Promise<Packet>((resolve, reject) => {
      const s = net.connect(server.port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          s.end();
          resolve(dnsPacket.streamDecode(buf));
        }
      });
      s.on('error', reject);
      s.write(
        dnsPacket.streamEncode({
          type: 'query',
          id: 7,
          questions: [{ type: 'A', name: 'edge.example.com' }],
        }),
      );
    });
    assert.deepEqual(data(reply), [addressOf('SFO')]);
  });
  it('a port whose TCP side is taken is refused with nothing left bound (its UDP side is free again)', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        startGeoDns({
          hostname: 'x.example',
          router,
          addresses,
          locate: () => undefined,
          fallback: parseLocation('San Francisco', world),
          port,
        }),
        /EADDRINUSE/,
      );
      // The UDP socket it had bound was closed: the port binds again.
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, '127.0.0.1', () => resolve());
      });
      udp.close();
    } finally {
      taken.close();
    }
  });
  it('a networks table with a bad entry is refused, naming it', () => {
    assert.throws(
      () => tableLocator([{ cidr: '10.0.0.0/33', location: 'Mumbai' }], world),
      /networks\[0\]\.cidr must be an IPv4 network/,
    );
    assert.throws(
      () => tableLocator([{ cidr: '10.0.0.0/8', location: 'Atlantis' }], world),
      /networks\[0\]\.location: "Atlantis" is not a known city/,
    );
  });
});
