// `outpost dev --nats URL`: a worker's KV lives in JetStream buckets; the CLI reaches them too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'outpost.mjs');
// Needs a real nats-server: skipped with one line when it is missing, a failure under CI.
describeNeeding(NATS_SERVER, 'outpost dev --nats', () => {
  let nats: NatsServer;
  let dev: TestDev;
  let project: ReturnType<typeof copyFixture>;

  before(async () => {
    nats = await startNatsServer();
    project = copyFixture('kv');
    dev = await startFixture(project.dir, { kv: { nats: nats.url } });
  });
  after(async () => {
    await dev.close();
    project.cleanup();
    await nats.dispose();
  });

  describe('KV on NATS JetStream', () => {
    it('a worker writes and reads through the bucket; the CLI reads and writes the same bucket', async () => {
      await fetch(`${dev.url}/put?key=hello&value=from%20the%20worker`);
      const got = (await (await fetch(`${dev.url}/get?key=hello`)).json()) as { result: unknown };
      assert.equal(got.result, 'from the worker');
      const kv = (...args: string[]) =>
        promisify(execFile)(process.execPath, [
          BIN,
          'kv',
          ...args,
          '--binding',
          'STORE',
          '--project',
          project.dir,
          '--nats',
          nats.url,
        ]);
      const { stdout } = await kv('key', 'get', 'hello');
      assert.equal(stdout, 'from the worker');
      await kv('key', 'put', 'cli', 'from the CLI');
      // The PoP's replica hears the CLI's write through its watch (milliseconds); then the worker reads it.
      const store = dev.runtime.kv?.store;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !(await store?.read('store-ns', 'cli', 'DEV', Date.now())))
        await new Promise((r) => setTimeout(r, 25));
      const seen = ((await (await fetch(`${dev.url}/get?key=cli`)).json()) as { result: unknown }).result;
      assert.equal(seen, 'from the CLI');
    });
  });
});
