// Analytics Engine over NATS JetStream: points written on one machine are queried on another,
// a restarted process goes on from where its file stopped, a lost file is rebuilt from the
// stream, and points written while NATS is down are sent once it is back.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeNeeding, NATS_SERVER } from '../../test/support/programs.ts';
import { type NatsServer, startNatsServer } from '../kv/nats-harness.ts';
import { decode, NatsAnalyticsLog } from './nats.ts';
import { checkPoint } from './point.ts';
import { AnalyticsEngine } from './store.ts';

const folder = () => mkdtempSync(join(tmpdir(), 'outpost-ae-nats-'));

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (ae: AnalyticsEngine, dataset: string): string => {
  try {
    return ae.query('local', `SELECT count() AS n FROM ${dataset}`).answer.data[0].n as string;
  } catch {
    return '0';
  }
};

describeNeeding(NATS_SERVER, 'Analytics Engine over NATS JetStream', () => {
  let server: NatsServer;
  before(async () => {
    server = await startNatsServer();
  });
  after(() => server.dispose());

  async function open(file: string) {
    const errors: string[] = [];
    const engine = new AnalyticsEngine({ file, flushMs: 10 });
    const log = await NatsAnalyticsLog.connect({
      servers: server.url,
      engine,
      timeoutMs: 500,
      onError: (e) => errors.push(e.message),
    });
    return {
      engine,
      log,
      errors,
      close: async () => {
        await engine.settle();
        await log.close();
        engine.close();
      },
    };
  }

  describe('a network of machines', () => {
    it('a point written in Frankfurt is queried in Singapore; each sees its own writes at once', async () => {
      const fra = await open(join(folder(), 'a.sqlite'));
      const sin = await open(join(folder(), 'a.sqlite'));
      try {
        fra.engine.write('local', 'shared', [checkPoint({ blobs: ['from FRA'] })]);
        await fra.engine.settle();
        assert.equal(count(fra.engine, 'shared'), '1', 'read-your-writes after settle()');
        await until(() => count(sin.engine, 'shared') === '1');
        assert.deepEqual(sin.engine.query('local', 'SELECT blob1 FROM shared').answer.data, [
          { blob1: 'from FRA' },
        ]);
        // Big batches are cut into messages under NATS's payload cap.
        const big = checkPoint({ blobs: ['x'.repeat(15_000)] });
        sin.engine.write('local', 'big', Array(100).fill(big));
        await sin.engine.settle();
        await until(() => count(fra.engine, 'big') === '100');
        assert.deepEqual(fra.errors, []);
      } finally {
        await fra.close();
        await sin.close();
      }
    });

    it('a restarted process goes on from its file; a new file is built from the whole stream', async () => {
      const dir = folder();
      const a = await open(join(dir, 'a.sqlite'));
      const b = await open(join(dir, 'b.sqlite'));
      a.engine.write('local', 'restart', [checkPoint({ doubles: [1] })]);
      await a.engine.settle();
      await until(() => count(b.engine, 'restart') === '1');
      await b.close();
      a.engine.write('local', 'restart', [checkPoint({ doubles: [2] }), checkPoint({ doubles: [3] })]);
      await a.engine.settle();
      const again = await open(join(dir, 'b.sqlite'));
      await until(() => count(again.engine, 'restart') === '3');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(count(again.engine, 'restart'), '3', 'nothing applied twice');
      const fresh = await open(join(dir, 'c.sqlite'));
      await until(() => count(fresh.engine, 'restart') === '3');
      await Promise.all([a.close(), again.close(), fresh.close()]);
    });

    it('points written while NATS is down are sent when it is back, once', async () => {
      const a = await open(join(folder(), 'a.sqlite'));
      try {
        await server.stop();
        a.engine.write('local', 'outage', [checkPoint({ blobs: ['during'] })]);
        a.engine.flush();
        await new Promise((r) => setTimeout(r, 700));
        assert.equal(a.log.queued, 1, 'kept while NATS is down');
        assert.match(a.errors.join('\n'), /publishing to NATS failed, will retry/);
        await server.restart();
        await until(() => a.log.queued === 0, 15_000);
        await until(() => count(a.engine, 'outage') === '1', 15_000);
        assert.match(a.errors.join('\n'), /publishing to NATS again/);
      } finally {
        await a.close();
      }
    });
  });

  it('refuses a message that is not a list of points, naming it', () => {
    assert.throws(() => decode(Buffer.from('{"a":1}')), /not a list of points/);
    assert.throws(() => decode(Buffer.from('[[1,2]]')), /malformed point/);
    const [p] = decode(Buffer.from('[["local","d",5,"i",["a"],[1.5]]]'));
    assert.deepEqual(
      [p.row.blobs.length, p.row.blobs[0], p.row.doubles[0], p.row.doubles[19]],
      [20, 'a', 1.5, 0],
    );
  });
});
