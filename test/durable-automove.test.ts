/**
 * Automatic moves of Durable Objects between node processes (`outpost node --do-auto-move N`):
 * an object placed in FRA whose calls then come from AMS moves to AMS while it is called, with
 * no call failed and no acknowledged increment lost; an object called from both PoPs alike stays
 * where it is, and so does one holding hibernated WebSockets; the flag without a network secret
 * (or below 10 calls) is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { WebSocket } from 'ws';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { cli, type NodeProcess, startNodeProcess, stopNodeProcesses } from './support/nodes.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'do-network');
const AFTER = 30;

describeNeeding(NATS_SERVER, 'Durable Objects moved toward their callers (--do-auto-move)', () => {
  let nats: NatsServer;
  let fra: NodeProcess;
  let ams: NodeProcess;
  let dir = '';

  const call = async (n: NodeProcess, path: string) => {
    const r = await fetch(`${n.url}${path}`, { signal: AbortSignal.timeout(20_000) });
    return { status: r.status, body: await r.text(), timing: r.headers.get('server-timing') ?? '' };
  };
  /** Where the object answered from, as the `do` Server-Timing entry says. */
  const where = (timing: string) => /COUNTER at (\w+)/.exec(timing)?.[1];

  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'outpost-automove-'));
    writeFileSync(join(dir, 'secret'), 'test-network-secret-0123456789');
    const d = await cli(['deploy', FIXTURE, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    assert.equal(d.code, 0, d.err);
    const extra = [
      '--secret-file',
      join(dir, 'secret'),
      '--do-lease-ms',
      '3000',
      '--do-auto-move',
      String(AFTER),
    ];
    [fra, ams] = await Promise.all([
      startNodeProcess(nats.url, 'FRA', { extra }),
      startNodeProcess(nats.url, 'AMS', { extra }),
    ]);
  });
  after(async () => {
    await stopNodeProcesses();
    await nats?.dispose();
    for (const n of [fra, ams]) if (n) rmSync(n.dir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an object placed in FRA and then called from AMS moves to AMS: no call failed, none lost', async () => {
    const first = await call(fra, '/inc?name=travels');
    assert.equal(first.status, 200, first.body);
    assert.equal(where(first.timing), 'FRA');
    let acked = 1;
    const failures: string[] = [];
    let movedAt = -1;
    // Two callers in AMS, so calls arrive while the object is being handed over.
    await Promise.all(
      [0, 1].map(async (c) => {
        for (let k = 0; k < 2 * AFTER; k++) {
          const r = await call(ams, `/inc?name=travels&op=${c}-${k}`);
          if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
          else acked++;
          if (movedAt < 0 && where(r.timing) === 'AMS') movedAt = acked;
        }
      }),
    );
    assert.deepEqual(failures, [], 'no call failed during the move');
    assert.ok(movedAt > 0, 'calls from AMS were answered in AMS after the move');
    const now = await call(fra, '/?name=travels');
    assert.equal(where(now.timing), 'AMS', 'called through FRA, it now lives in AMS');
    assert.equal(JSON.parse(now.body).value, acked, 'every acknowledged increment is there');
  });

  it('an object called from FRA and AMS alike stays where it is', async () => {
    assert.equal((await call(fra, '/inc?name=shared')).status, 200);
    for (let k = 0; k < 3 * AFTER; k++) {
      const r = await call(k % 2 ? ams : fra, `/inc?name=shared&op=s-${k}`);
      assert.equal(r.status, 200, r.body);
    }
    const now = await call(ams, '/?name=shared');
    assert.equal(where(now.timing), 'FRA');
    assert.equal(JSON.parse(now.body).value, 3 * AFTER + 1);
  });

  it('an object holding hibernated WebSockets is not moved (a move would close them)', async () => {
    const ws = new WebSocket(`${fra.url.replace('http', 'ws')}/room?name=stays`);
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });
    for (let k = 0; k < 2 * AFTER; k++) {
      const r = await call(ams, '/room?name=stays');
      assert.equal(r.status, 200, r.body);
    }
    await new Promise((r) => setTimeout(r, 300));
    const now = await call(ams, '/room?name=stays');
    assert.match(now.timing, /ROOM at FRA/, 'still in FRA');
    assert.equal(ws.readyState, WebSocket.OPEN, 'its member is still connected');
    ws.close();
  });

  it('--do-auto-move without a network secret is refused, naming why', async () => {
    const r = await cli(['node', '--nats', nats.url, '--pop', 'FRA', '--port', '0', '--do-auto-move', '10']);
    assert.equal(r.code, 1);
    assert.match(r.err, /--do-auto-move moves objects between nodes.*network secret/);
    for (const n of ['1.5', '5']) {
      const bad = await cli(['node', '--nats', nats.url, '--pop', 'FRA', `--do-auto-move=${n}`]);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /--do-auto-move must be a whole number of calls, at least 10/);
    }
  });
});
