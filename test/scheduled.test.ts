// Cron Triggers and scheduled(): a cron-only worker loads; the scheduler fires each worker's
// crons at the minutes they name, once per network; /__scheduled (--test-scheduled) and
// `outpost trigger scheduled` run scheduled() on demand; the service-worker syntax works too.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SchedulerClock } from '../src/background/index.ts';
import { NatsCronClaims } from '../src/background/index.ts';
import { runCli } from '../src/cli/program.ts';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

/** A clock the test moves: the scheduler's timer is kept, not run, until the test says. */
function fakeClock(start: string) {
  let now = Date.parse(start);
  let pending: { fn: () => void; at: number } | null = null;
  const clock: SchedulerClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      pending = { fn, at: now + ms };
      return pending;
    },
    clearTimeout: (h) => {
      if (pending === h) pending = null;
    },
  };
  return {
    clock,
    /** When the scheduler asked to wake. */
    wakeAt: () => pending?.at,
    /** Move to its wake-up time and run it. */
    wake() {
      const p = pending;
      if (!p) throw new Error('the scheduler is not waiting');
      pending = null;
      now = p.at;
      p.fn();
    },
  };
}

const ran = (dev: TestDev) =>
  dev.logs.filter((l) => l.source === 'outpost' && /^scheduled ".*" of ".*" ran in/.test(l.message)).length;

describe('cron triggers on the world topology', () => {
  let dev: TestDev;
  const time = fakeClock('2026-02-28T11:58:30Z');
  before(async () => {
    dev = await startFixture('scheduled', {
      topology: 'world',
      cronClock: time.clock,
      kv: { file: join(mkdtempSync(join(tmpdir(), 'outpost-cron-')), 'kv.sqlite'), propagationMs: 0 },
    });
  });
  after(() => dev.close());

  it('sleeps until the next minute a cron names, fires it once for the whole network', async () => {
    // */5 next fires at 12:00; "0 12 L * *" (noon on the last day of the month) too, today.
    assert.equal(new Date(time.wakeAt() as number).toISOString(), '2026-02-28T12:00:00.000Z');
    time.wake();
    for (let i = 0; i < 300 && ran(dev) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ran(dev), 2, JSON.stringify(dev.logs.filter((l) => /schedul|tick/.test(l.message))));
    const state = (await (await fetch(`${dev.url}/`, { headers: { 'outpost-pop': 'FRA' } })).json()) as {
      runs: { cron: string; scheduledTime: number }[];
    };
    assert.deepEqual(state.runs.map((r) => r.cron).sort(), ['*/5 * * * *', '0 12 L * *']);
    assert.ok(state.runs.every((r) => r.scheduledTime === Date.parse('2026-02-28T12:00:00Z')));
    // Then the next five-minute mark, and only it.
    assert.equal(new Date(time.wakeAt() as number).toISOString(), '2026-02-28T12:05:00.000Z');
  });

  it('exactly one firing per tick across 21 PoPs: 12 ticks, 12 runs', async () => {
    const before = ran(dev);
    for (let i = 0; i < 12; i++) {
      time.wake();
    }
    for (let i = 0; i < 100 && ran(dev) < before + 12; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ran(dev), before + 12);
    assert.equal(new Date(time.wakeAt() as number).toISOString(), '2026-02-28T13:05:00.000Z');
  });

  it('the admin endpoint lists the jobs; outpost trigger scheduled runs them now', async () => {
    const list = (await (
      await fetch(`${dev.url}/__outpost/scheduled`, {
        headers: { authorization: `Bearer ${dev.adminToken}` },
      })
    ).json()) as { jobs: { worker: string; cron: string; next: string }[] };
    assert.deepEqual(
      list.jobs.map((j) => j.cron),
      ['*/5 * * * *', '0 12 L * *'],
    );
    let out = '';
    const code = await runCli(
      ['trigger', 'scheduled', '--server', dev.url, '--token', dev.adminToken, '--cron', '1 2 3 4 5'],
      { out: (c) => void (out += String(c)), err: (t) => void (out += t) },
    );
    assert.equal(code, 0, out);
    assert.equal(out, 'ran scheduled() of scheduled for "1 2 3 4 5"\n');
    let err = '';
    const failed = await runCli(
      ['trigger', 'scheduled', '--server', dev.url, '--token', dev.adminToken, '--cron', 'fail'],
      { out: () => {}, err: (t) => void (err += t) },
    );
    assert.equal(failed, 1);
    assert.match(err, /scheduled\(\) failed \(500\): .*scheduled failed on purpose/);
  });
});

describe('scheduled() on demand and without fetch()', () => {
  it('GET /__scheduled?cron= runs it with --test-scheduled, and is a normal path without', async () => {
    const dev = await startFixture('scheduled', {
      testScheduled: true,
      kv: { file: join(mkdtempSync(join(tmpdir(), 'outpost-cron-')), 'kv.sqlite') },
    });
    try {
      const res = await fetch(`${dev.url}/__scheduled?cron=*+*+*+*+*&time=1000`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'Ran scheduled event\n');
      const state = (await (await fetch(`${dev.url}/`)).json()) as { runs: unknown[] };
      assert.deepEqual(state.runs, [{ cron: '* * * * *', scheduledTime: 1000 }]);
      const fail = await fetch(`${dev.url}/__scheduled?cron=fail`);
      assert.equal(fail.status, 500);
      assert.match(await fail.text(), /scheduled failed on purpose/);
    } finally {
      await dev.close();
    }
    const plain = await startFixture('scheduled', {
      kv: { file: join(mkdtempSync(join(tmpdir(), 'outpost-cron-')), 'kv.sqlite') },
    });
    try {
      const res = await fetch(`${plain.url}/__scheduled?cron=*+*+*+*+*`);
      assert.deepEqual(await res.json(), { runs: [] });
    } finally {
      await plain.close();
    }
  });

  it('a worker that exports only scheduled() loads; a request gets a clear error', async () => {
    const dev = await startFixture('scheduled-only', { testScheduled: true });
    try {
      assert.equal((await fetch(`${dev.url}/__scheduled?cron=x`)).status, 200);
      assert.ok(dev.logs.some((l) => l.message === 'only scheduled: x'));
      const res = await fetch(`${dev.url}/`);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /has no fetch\(\) handler: its default export has only scheduled\(\)/);
    } finally {
      await dev.close();
    }
  });

  it("the service-worker syntax: addEventListener('scheduled') with waitUntil", async () => {
    const dev = await startFixture('scheduled-sw', { testScheduled: true });
    try {
      assert.equal((await fetch(`${dev.url}/__scheduled?cron=sw`)).status, 200);
      assert.ok(dev.logs.some((l) => l.message === 'sw scheduled sw number'));
    } finally {
      await dev.close();
    }
  });

  it('a cron Cloudflare would refuse stops the start, naming the file and the key', async () => {
    const { dir, cleanup } = copyFixture('scheduled-only');
    try {
      writeFileSync(
        join(dir, 'wrangler.toml'),
        'name = "bad-cron"\nmain = "worker.js"\ncompatibility_date = "2025-01-01"\n[triggers]\ncrons = ["* * *"]\n',
      );
      await assert.rejects(startFixture(dir), /wrangler\.toml: triggers\.crons\[0\]: .*\* \* \*/);
    } finally {
      cleanup();
    }
  });
});

describeNeeding(NATS_SERVER, 'cron triggers across processes sharing NATS (--nats)', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNatsServer();
  });
  after(() => nats?.dispose());

  it('a firing is claimed once: two claims of one tick, one wins; another tick is another claim', async () => {
    const [a, b] = await Promise.all([NatsCronClaims.connect(nats.url), NatsCronClaims.connect(nats.url)]);
    try {
      const at = Date.parse('2026-03-01T00:00:00Z');
      const won = await Promise.all([a.claim('w', '* * * * *', at), b.claim('w', '* * * * *', at)]);
      assert.deepEqual(won.sort(), [false, true]);
      assert.equal(await b.claim('w', '* * * * *', at + 60_000), true);
      assert.equal(await a.claim('other', '* * * * *', at), true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('two outpost dev sessions serving one worker: each tick fires once between them', async () => {
    const projects = [copyFixture('scheduled'), copyFixture('scheduled')];
    const clocks = [fakeClock('2026-02-28T11:58:30Z'), fakeClock('2026-02-28T11:58:30Z')];
    const devs = await Promise.all(
      projects.map((p, i) => startFixture(p.dir, { cronClock: clocks[i].clock, kv: { nats: nats.url } })),
    );
    try {
      // 12:00 fires both crons, then 12:05 … 12:25 the five-minute one: 7 firings.
      for (let tick = 0; tick < 6; tick++) {
        for (const c of clocks) c.wake();
        // Both processes have decided this tick before the next.
        for (let i = 0; i < 200 && ran(devs[0]) + ran(devs[1]) < (tick === 0 ? 2 : tick + 2); i++)
          await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(ran(devs[0]) + ran(devs[1]), 7, `${ran(devs[0])} + ${ran(devs[1])}`);
    } finally {
      await Promise.all(devs.map((d) => d.close()));
      for (const p of projects) p.cleanup();
    }
  });
});
