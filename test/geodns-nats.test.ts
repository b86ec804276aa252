// `outpost geodns --nats`: answers from the live membership of node processes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { Packet } from 'dns-packet';
import { startGeodnsFrom } from '../src/cli/geodns.ts';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { dnsQuery } from '../src/network/dns-client.ts';
import { type Member, Membership } from '../src/network/index.ts';
import { waitFor } from './helpers.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

describeNeeding(NATS_SERVER, 'outpost geodns --nats', () => {
  let nats: NatsServer;
  let dir: string;
  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'outpost-geodns-nats-'));
    writeFileSync(
      join(dir, 'addresses.json'),
      JSON.stringify({ FRA: { a: ['192.0.2.10'] }, LHR: { a: ['192.0.2.20'] } }),
    );
  });
  after(async () => {
    await nats?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers only with PoPs that have a live node, and follows them joining and leaving', async () => {
    const node = (pop: string): Member => ({
      id: `${pop}-test`,
      pop,
      url: 'http://127.0.0.1:1',
      outpost: '0',
      workers: [],
      load: { inflight: 0, isolates: 0 },
      startedAt: '',
    });
    const lhr = await Membership.connect({ servers: nats.url, leaveMs: 600 });
    await lhr.join(() => node('LHR'));
    const { server } = await startGeodnsFrom({
      hostname: 'edge.example.com',
      addresses: join(dir, 'addresses.json'),
      topology: 'world',
      from: 'Frankfurt',
      ttl: 30,
      port: 0,
      ip: '127.0.0.1',
      nats: nats.url,
      'leave-ms': 600,
    });
    const fra = await Membership.connect({ servers: nats.url, leaveMs: 600 });
    try {
      const first = async () =>
        ((await dnsQuery(server.port, { type: 'A', name: 'edge.example.com' })) as Packet).answers?.[0] as
          | { data: string }
          | undefined;
      // A Frankfurt client: FRA has no node, so the nearest PoP with one.
      assert.equal((await first())?.data, '192.0.2.20');
      await fra.join(() => node('FRA'));
      await waitFor(
        async () => ((await first())?.data === '192.0.2.10' ? true : undefined),
        5000,
        'FRA answered',
      );
      await fra.leave();
      await waitFor(
        async () => ((await first())?.data === '192.0.2.20' ? true : undefined),
        5000,
        'FRA dropped',
      );
    } finally {
      await server.close();
      await fra.close();
      await lhr.close();
    }
  });
});
