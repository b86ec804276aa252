// Attacks on the output gate (src/durable-objects/output-gate.ts): while a Durable Object's
// fsync is in flight its calls that leave it wait on the host, holding their arguments. A tenant
// that piles up calls with large arguments behind a slow disk must be refused at the bound
// (1,000 calls, 16 MiB of strings and bytes per isolate), not grow the host's memory; the
// object goes on once the disk answers, and its neighbours are not held meanwhile.
import assert from 'node:assert/strict';
import { fsync } from 'node:fs';
import { after, before, it } from 'node:test';
import { disk } from '../../src/durable-objects/wal-sync.ts';
import { copyFixture, startFixture, type TestDev, waitFor } from '../helpers.ts';

let dev: TestDev;
// A copy: each run starts with empty object storage.
const project = copyFixture('output-gate');
const realFsync = disk.fsync;
let holding = false;
const held: (() => void)[] = [];

before(async () => {
  disk.fsync = (fd, done) => (holding ? held.push(() => fsync(fd, done)) : fsync(fd, done));
  dev = await startFixture(project.dir);
});
after(async () => {
  holding = false;
  for (const start of held.splice(0)) start();
  disk.fsync = realFsync;
  await dev?.close();
  project.cleanup();
});

it('calls carrying 80 MiB of strings behind a held fsync: refused past 16 MiB, the rest made after it', async () => {
  await (await fetch(`${dev.url}/read?name=flood`)).text();
  await (await fetch(`${dev.url}/read?name=neighbour`)).text();
  const rss = process.memoryUsage().rss;
  holding = true;
  const answer = fetch(`${dev.url}/flood-bytes?name=flood`).then((r) => r.json());
  await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
  await new Promise((r) => setTimeout(r, 300));
  // A neighbour that wrote nothing is answered meanwhile.
  assert.equal(await (await fetch(`${dev.url}/read?name=neighbour`)).text(), 'none');
  const grew = process.memoryUsage().rss - rss;
  holding = false;
  for (const start of held.splice(0)) start();
  const out = (await answer) as { refused: number; taken: number };
  // A little over 2 MiB held per call (two bytes a character, and the call's name): 7 fit
  // under 16 MiB, the other 33 are refused.
  assert.deepEqual(out, { refused: 33, taken: 7 });
  assert.ok(
    grew < 200 * 1024 * 1024,
    `the host grew by ${Math.round(grew / 1024 / 1024)} MiB while calls waited`,
  );
});
