// Durable Objects in a network of PoPs (placement where the first request came in, or by
// locationHint; calls from elsewhere routed there and timed; the admin list), and durability:
// kill -9 while an object acknowledges writes, restart, every acknowledged write is there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startDevProcess, startFixture, type TestDev } from './helpers.ts';

describe('Durable Objects in the world topology', () => {
  let dev: TestDev;
  let project: ReturnType<typeof copyFixture>;
  before(async () => {
    project = copyFixture('durable');
    dev = await startFixture(project.dir, { topology: 'world' });
  });
  after(async () => {
    await dev.close();
    project.cleanup();
  });
  const from = (city: string, path: string) =>
    fetch(`${dev.url}${path}`, { headers: { 'outpost-client-location': city } });

  it('lives where its first request came in; requests from elsewhere are routed there and pay the trip', async () => {
    const first = await from('London', '/increment?name=london-room');
    assert.equal(first.headers.get('outpost-pop'), 'LHR');
    assert.equal(first.headers.get('outpost-do-location'), 'LHR');
    const paris = await from('Paris', '/increment?name=london-room');
    assert.equal(paris.headers.get('outpost-pop'), 'CDG');
    assert.equal(paris.headers.get('outpost-do-location'), 'LHR');
    assert.deepEqual(await paris.json(), { n: 2, ready: true });
    assert.match(
      paris.headers.get('server-timing') ?? '',
      /do;dur=[\d.]+;desc="COUNTER at LHR from CDG, simulated"/,
    );
  });
  it("the seed's picture: London, Paris and Berlin users of one room hinted to eastern Europe meet in Frankfurt", async () => {
    for (const city of ['London', 'Paris', 'Frankfurt']) {
      const r = await from(city, '/increment?name=eu-room&hint=eeur');
      assert.equal(r.headers.get('outpost-do-location'), 'FRA', city);
    }
    const list = (await (
      await fetch(`${dev.url}/__outpost/do/objects`, {
        headers: { authorization: `Bearer ${dev.adminToken}` },
      })
    ).json()) as { objects: { namespace: string; name: string; location: string; live: boolean }[] };
    const room = list.objects.find((o) => o.name === 'eu-room');
    assert.deepEqual([room?.namespace, room?.location, room?.live], ['durable/Counter', 'FRA', true]);
  });
});

describe('durability', () => {
  let project: ReturnType<typeof copyFixture>;
  before(() => {
    project = copyFixture('durable');
  });
  after(() => project.cleanup());

  const start = () => startDevProcess(project.dir);

  it('kill -9 while an object acknowledges writes: after a restart every acknowledged write is there', async () => {
    const a = await start();
    let acknowledged = 0;
    let stop = false;
    // Writers keep going while the process is killed under them.
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const r = await fetch(`${a.url}/increment?name=durable`);
          if (r.status !== 200) break;
          const { n } = (await r.json()) as { n: number };
          acknowledged = Math.max(acknowledged, n);
        } catch {
          break;
        }
      }
    });
    const deadline = Date.now() + 20_000;
    while (acknowledged < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(acknowledged >= 60, `only ${acknowledged} writes acknowledged`);
    const exited = new Promise((r) => a.child.once('exit', r));
    a.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await exited;
    const b = await start();
    try {
      const { n } = (await (await fetch(`${b.url}/increment?name=durable`)).json()) as { n: number };
      assert.ok(
        n > acknowledged,
        `after restart the counter went on from ${n - 1}; ${acknowledged} were acknowledged`,
      );
    } finally {
      b.child.kill('SIGKILL');
    }
  });
});
