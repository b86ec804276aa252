// `outpost dev --nats URL` on two machines (two dev servers, each with its own project folder):
// a data point a worker writes on one is answered by the other's SQL API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

describeNeeding(NATS_SERVER, 'outpost dev --nats: Analytics Engine', () => {
  let nats: NatsServer;
  const projects: ReturnType<typeof copyFixture>[] = [];
  const devs: TestDev[] = [];

  before(async () => {
    nats = await startNatsServer();
    for (let i = 0; i < 2; i++) {
      projects.push(copyFixture('analytics'));
      devs.push(await startFixture(projects[i].dir, { kv: { nats: nats.url } }));
    }
  });
  after(async () => {
    for (const d of devs) await d.close();
    for (const p of projects) p.cleanup();
    await nats.dispose();
  });

  async function count(dev: TestDev, city: string): Promise<string | undefined> {
    const res = await fetch(`${dev.url}/__outpost/analytics/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dev.adminToken}` },
      body: `SELECT count() AS n FROM EVENTS WHERE blob1 = '${city}'`,
    });
    if (res.status !== 200) return undefined;
    return ((await res.json()) as { data: { n: string }[] }).data[0].n;
  }

  describe('data points through JetStream', () => {
    it('written by a worker on one machine, queried on both', async () => {
      const [fra, sin] = devs;
      assert.equal(await (await fetch(`${fra.url}/write?n=4&city=Lima`)).text(), 'ok');
      // The writer's own query sees them (it waits for them to come back from the stream).
      assert.equal(await count(fra, 'Lima'), '4');
      const deadline = Date.now() + 5000;
      let seen: string | undefined;
      while (Date.now() < deadline && (seen = await count(sin, 'Lima')) !== '4')
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(seen, '4');
    });
  });
});
