// `outpost kv key …` and `outpost kv bulk put` on a stopped project and next to a running one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { copyFixture, startFixture } from './helpers.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'outpost.mjs');
const run = promisify(execFile);
const outpost = (dir: string, ...args: string[]) => run(process.execPath, [BIN, ...args, '--project', dir]);

describe('outpost kv', () => {
  it('puts, gets, lists and deletes on the files of a stopped network', async () => {
    const p = copyFixture('kv');
    try {
      assert.match(
        (await outpost(p.dir, 'kv', 'key', 'put', 'a/1', 'one', '--binding', 'STORE')).stdout,
        /Wrote 3 bytes to "a\/1"/,
      );
      await outpost(
        p.dir,
        'kv',
        'key',
        'put',
        'a/2',
        'two',
        '--binding',
        'STORE',
        '--metadata',
        '{"v":2}',
        '--ttl',
        '3600',
      );
      assert.equal((await outpost(p.dir, 'kv', 'key', 'get', 'a/1', '--binding', 'STORE')).stdout, 'one');
      const listed = JSON.parse(
        (await outpost(p.dir, 'kv', 'key', 'list', '--binding', 'STORE', '--prefix', 'a/')).stdout,
      );
      assert.deepEqual(
        listed.map((k: { name: string; metadata?: unknown }) => [k.name, k.metadata ?? null]),
        [
          ['a/1', null],
          ['a/2', { v: 2 }],
        ],
      );
      assert.ok(listed[1].expiration > Date.now() / 1000);
      await outpost(p.dir, 'kv', 'key', 'delete', 'a/1', '--binding', 'STORE');
      await assert.rejects(
        outpost(p.dir, 'kv', 'key', 'get', 'a/1', '--binding', 'STORE'),
        /Value not found for "a\/1"/,
      );
      const file = join(p.dir, 'bulk.json');
      writeFileSync(
        file,
        JSON.stringify([
          { key: 'b/1', value: 'x' },
          { key: 'b/2', value: Buffer.from('bytes').toString('base64'), base64: true, metadata: { m: 1 } },
        ]),
      );
      assert.match(
        (await outpost(p.dir, 'kv', 'bulk', 'put', file, '--binding', 'STORE')).stdout,
        /Wrote 2 key-value pairs/,
      );
      assert.equal((await outpost(p.dir, 'kv', 'key', 'get', 'b/2', '--binding', 'STORE')).stdout, 'bytes');
    } finally {
      p.cleanup();
    }
  });
  it('names what is wrong', async () => {
    const p = copyFixture('kv');
    try {
      await assert.rejects(
        outpost(p.dir, 'kv', 'key', 'put', 'k', 'v', '--binding', 'NOPE'),
        /no KV binding "NOPE" .*kv_namespaces has: STORE, OTHER/,
      );
      await assert.rejects(
        outpost(p.dir, 'kv', 'key', 'put', 'k', 'v'),
        /say which namespace: --binding NAME or --namespace-id ID/,
      );
      await assert.rejects(
        outpost(p.dir, 'kv', 'key', 'put', 'k', 'v', '--binding', 'STORE', '--ttl', '10'),
        /KV refused it: 400 Invalid expiration_ttl of 10\. Expiration TTL must be at least 60\./,
      );
      const bad = join(p.dir, 'bad.json');
      writeFileSync(bad, JSON.stringify([{ key: 'ok', value: 'v' }, { key: 1 }]));
      await assert.rejects(
        outpost(p.dir, 'kv', 'bulk', 'put', bad, '--binding', 'STORE'),
        /bad\.json\[1\] must be an object with string "key" and "value"/,
      );
    } finally {
      p.cleanup();
    }
  });
  it('with --kv-propagation-ms, a write from the CLI reaches the running PoP only after the delay', async () => {
    const p = copyFixture('kv');
    const dev = await startFixture(p.dir, { kv: { propagationMs: 1500 } });
    const view = async () => {
      const r = await fetch(`${dev.url}/__outpost/kv/keys?binding=STORE&prefix=late`, {
        headers: { authorization: `Bearer ${dev.adminToken}` },
      });
      const [k] = (
        (await r.json()) as {
          keys: { seen: Record<string, number | null>; latest: { version: number; pop: string } }[];
        }
      ).keys;
      return k;
    };
    try {
      await outpost(p.dir, 'kv', 'key', 'put', 'late', 'v', '--binding', 'STORE');
      const before = await view();
      assert.deepEqual([before.latest.pop, before.seen.DEV], ['CLI', null]);
      await new Promise((r) => setTimeout(r, 1600));
      const later = await view();
      assert.equal(later.seen.DEV, later.latest.version);
      const got = (await (await fetch(`${dev.url}/get?key=late`)).json()) as { result: unknown };
      assert.equal(got.result, 'v');
    } finally {
      await dev.close();
      p.cleanup();
    }
  });
  it('works next to a running dev network, both ways', async () => {
    const p = copyFixture('kv');
    const dev = await startFixture(p.dir);
    try {
      await outpost(p.dir, 'kv', 'key', 'put', 'shared', 'from the CLI', '--binding', 'STORE');
      const r = (await (await fetch(`${dev.url}/get?key=shared`)).json()) as { result: unknown };
      assert.equal(r.result, 'from the CLI');
      await fetch(`${dev.url}/put?key=back&value=from%20the%20worker`);
      assert.equal(
        (await outpost(p.dir, 'kv', 'key', 'get', 'back', '--binding', 'STORE')).stdout,
        'from the worker',
      );
    } finally {
      await dev.close();
      p.cleanup();
    }
  });
});
