import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { queueStoreConformance } from './conformance.ts';
import { SqliteQueueStore } from './sqlite-store.ts';

const T = Date.parse('2026-01-01T00:00:00Z');

queueStoreConformance('SqliteQueueStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-queues-'));
  const file = join(dir, 'queues.sqlite');
  let t = T;
  const now = () => t;
  const h = {
    store: new SqliteQueueStore({ file, now }),
    async reopen() {
      await h.store.close();
      h.store = new SqliteQueueStore({ file, now });
      return h.store;
    },
    advance: async (ms: number) => {
      t += ms;
    },
    now,
    async dispose() {
      await h.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
});

const child = join(import.meta.dirname, 'test-child.ts');

/** Start test-child.ts; resolves with its first line of output and the process. */
function run(mode: string, file: string, queue: string) {
  const p = spawn(process.execPath, ['--import', 'tsx', child, mode, file, queue], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stderr.on('data', (d) => {
    err += d;
  });
  /** The next line the child prints. */
  const line = () =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const nl = out.indexOf('\n');
        if (nl < 0) return false;
        resolve(out.slice(0, nl));
        out = out.slice(nl + 1);
        return true;
      };
      if (check()) return;
      const onData = (d: Buffer) => {
        out += d;
        if (check()) done();
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`child exited (${code}) before answering: ${err}`));
      };
      const done = () => {
        p.stdout.off('data', onData);
        p.off('exit', onExit);
      };
      p.stdout.on('data', onData);
      p.once('exit', onExit);
    });
  return { p, line };
}

describe('SqliteQueueStore across processes', () => {
  it('kill -9 between send and consume loses nothing acknowledged: a new store sees exactly the unacked messages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-queues-kill-'));
    try {
      const file = join(dir, 'queues.sqlite');
      const { p, line } = run('send', file, 'jobs');
      const { sent, acked } = JSON.parse(await line()) as { sent: string[]; acked: string[] };
      const exited = new Promise((r) => p.once('exit', r));
      await new Promise((r) => setTimeout(r, 50)); // let it write to the noise queue a while
      p.kill('SIGKILL');
      await exited;
      assert.equal(p.signalCode, 'SIGKILL');
      assert.equal(sent.length, 20);
      const db = new Database(file, { readonly: true });
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      db.close();
      let t = Date.now();
      const store = new SqliteQueueStore({ file, now: () => t });
      try {
        const unacked = sent.filter((id) => !acked.includes(id));
        // They were leased for 60 s by the killed process: deliverable once that lease ends.
        assert.deepEqual(await store.depth('jobs'), { ready: 0, delayed: 0, leased: 10 });
        t += 60_001;
        const got = await store.lease('jobs', 100, 30_000);
        assert.deepEqual(
          got.map((m) => m.id),
          unacked,
        );
        assert.ok(got.every((m) => m.attempts === 2));
        assert.ok((await store.depth('jobs-noise')).ready > 0, 'the child was writing when it was killed');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two processes leasing from one file never get the same message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-queues-race-'));
    try {
      const file = join(dir, 'queues.sqlite');
      const store = new SqliteQueueStore({ file });
      const enc = new TextEncoder();
      for (let i = 0; i < 10; i++)
        await store.send(
          'race',
          Array.from({ length: 100 }, (_, j) => ({ body: enc.encode(`${i}.${j}`), contentType: 'text' })),
        );
      await store.close();
      const a = run('lease', file, 'race');
      const b = run('lease', file, 'race');
      assert.deepEqual(await Promise.all([a.line(), b.line()]), ['ready', 'ready']);
      const results = Promise.all([a.line(), b.line()]);
      a.p.stdin.write('go\n');
      b.p.stdin.write('go\n');
      const [ia, ib] = (
        await results.finally(() => {
          for (const c of [a, b]) c.p.kill('SIGKILL');
        })
      ).map((l) => JSON.parse(l) as string[]);
      assert.ok(ia.length > 0 && ib.length > 0, `both leased some (${ia.length}, ${ib.length})`);
      assert.equal(ia.length + ib.length, 1000);
      assert.equal(new Set([...ia, ...ib]).size, 1000, 'no message in both');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad lease', async () => {
    const store = new SqliteQueueStore({ file: ':memory:' });
    await assert.rejects(store.lease('q', 0, 1000), /max must be an integer ≥ 1, received 0/);
    await assert.rejects(store.lease('q', 1, 0), /leaseMs must be a number > 0, received 0/);
    await assert.rejects(store.retry('q', [], 0, -1), /max_retries must be an integer between 0 and 100/);
    await store.close();
  });
});
