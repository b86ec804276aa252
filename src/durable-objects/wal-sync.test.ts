// Group commit of an object's local database: outputs wait for the disk, one fsync covers the
// commits before it, failures withhold every later output, close syncs what is left, and the
// process never has more than FSYNC_SLOTS fsyncs on libuv's pool.
import assert from 'node:assert/strict';
import { fsync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { FSYNC_SLOTS } from '../config/thread-pool.ts';
import { ObjectStorage } from './storage.ts';
import { disk, WalSync } from './wal-sync.ts';

const dir = mkdtempSync(join(tmpdir(), 'outpost-walsync-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (s: string) => new TextEncoder().encode(s);

it('an output after a commit waits for the disk; one fsync covers every commit before it', async () => {
  const s = new ObjectStorage(join(dir, 'a.sqlite'));
  const sync = s.walSync as WalSync;
  assert.equal(s.outputWaits(), false, 'nothing written: nothing to wait for');
  s.write([['k', bytes('1')]], []);
  assert.equal(s.outputWaits(), true);
  await s.confirmOutput();
  assert.equal(s.outputWaits(), false);
  assert.equal(sync.syncs, 1);
  // Forty concurrent events, each committing and then answering: far fewer fsyncs than commits.
  const answers: Promise<void>[] = [];
  for (let i = 0; i < 40; i++) {
    s.write([[`k${i}`, bytes(String(i))]], []);
    answers.push(s.confirmOutput());
  }
  await Promise.all(answers);
  assert.ok(sync.syncs - 1 <= 2, `40 commits, ${sync.syncs - 1} fsyncs`);
  // An alarm and deleteAll() are commits too.
  s.setAlarm(Date.now() + 60_000);
  assert.equal(s.outputWaits(), true);
  await s.confirmOutput();
  s.deleteAll();
  assert.equal(s.outputWaits(), true);
  await s.confirmOutput();
  s.close();
});

it('close() syncs what is still waiting, once', async () => {
  const s = new ObjectStorage(join(dir, 'b.sqlite'));
  const sync = s.walSync as WalSync;
  s.write([['k', bytes('v')]], []);
  const real = disk.fsync;
  // The fsync the wait asked for is held until after close(), which syncs by itself.
  let heldSync: (() => void) | null = null;
  disk.fsync = (fd, done) => {
    heldSync = () => fsync(fd, done);
  };
  let waiting: Promise<void>;
  try {
    waiting = s.confirmOutput();
    await new Promise((r) => setTimeout(r, 10));
    s.close();
  } finally {
    disk.fsync = real;
  }
  await waiting;
  assert.ok(heldSync, 'an fsync was asked for');
  (heldSync as () => void)();
  assert.equal(sync.pending, false);
  assert.equal(sync.syncs, 2, 'the one asked for (never done), and the one close() made');
  const reopened = new ObjectStorage(join(dir, 'b.sqlite'));
  assert.deepEqual(
    reopened.get(['k']).map(([k, v]) => [k, new TextDecoder().decode(v)]),
    [['k', 'v']],
  );
  reopened.close();
});

it('a failed fsync withholds what waited and every later output; the failure is reported once, without host paths', async () => {
  const s = new ObjectStorage(join(dir, 'eio.sqlite'));
  const sync = s.walSync as WalSync;
  const seen: Error[] = [];
  sync.onFailure((e) => seen.push(e));
  const real = disk.fsync;
  disk.fsync = (_fd, done) =>
    setImmediate(() => done(Object.assign(new Error(`EIO: i/o error, fsync '${dir}'`), { code: 'EIO' })));
  try {
    s.write([['k', bytes('1')]], []);
    const a = s.confirmOutput();
    const b = s.confirmOutput();
    await assert.rejects(a, /^Error: the object's storage could not be written to disk \(EIO\)$/);
    await assert.rejects(b, /\(EIO\)/);
    s.write([['k', bytes('2')]], []);
    await assert.rejects(s.confirmOutput(), /\(EIO\)/);
    assert.equal(seen.length, 1);
    assert.match(seen[0].message, /EIO: i\/o error/);
    // Told at once to a listener that comes after the failure.
    let late: Error | null = null;
    sync.onFailure((e) => {
      late = e;
    });
    assert.equal(late, seen[0]);
  } finally {
    disk.fsync = real;
    s.close();
  }
});

it('a failed open (too many open files…) withholds what waited, and the next output tries again', async () => {
  const folder = join(dir, 'later');
  const sync = new WalSync(join(folder, 'c.sqlite'));
  let failures = 0;
  sync.onFailure(() => failures++);
  sync.committed();
  await assert.rejects(sync.confirm(), /could not be written to disk \(ENOENT\)/);
  assert.equal(sync.pending, true);
  // The file can be opened now: the next wait syncs it.
  mkdirSync(folder);
  writeFileSync(join(folder, 'c.sqlite'), '');
  await sync.confirm();
  assert.equal(sync.pending, false);
  assert.equal(failures, 0, 'an open that failed is not a failed fsync');
  sync.close();
});

it('storage that needs no fsync (in memory, or replicated) never waits', () => {
  const m = new ObjectStorage(':memory:');
  m.write([['k', bytes('v')]], []);
  assert.equal(m.outputWaits(), false);
  m.close();
  const r = new ObjectStorage(join(dir, 'd.sqlite'), 'ns', 1e9, false);
  r.write([['k', bytes('v')]], []);
  assert.equal(r.outputWaits(), false);
  r.close();
});

it('the process runs at most FSYNC_SLOTS fsyncs at once; a queued turn covers every commit made while it waited', async () => {
  const real = disk.fsync;
  const inFlight: (() => void)[] = [];
  let most = 0;
  disk.fsync = (fd, done) => {
    inFlight.push(() => fsync(fd, done));
    most = Math.max(most, inFlight.length);
  };
  try {
    const stores = Array.from(
      { length: FSYNC_SLOTS + 3 },
      (_, i) => new ObjectStorage(join(dir, `slots${i}.sqlite`)),
    );
    const waits: Promise<void>[] = [];
    for (const s of stores) {
      s.write([['k', bytes('1')]], []);
      waits.push(s.confirmOutput());
    }
    // More commits while the first turns are in flight or queued: no extra fsyncs for them.
    for (const s of stores) {
      s.write([['k', bytes('2')]], []);
      waits.push(s.confirmOutput());
    }
    // Until every commit is confirmed, not until none is in flight: an fsync released a moment
    // ago may still be running, and the turn queued behind it starts only when it ends (on a
    // loaded machine, later than one 5 ms round).
    let confirmed = false;
    const all = Promise.all(waits).then(() => {
      confirmed = true;
    });
    for (let rounds = 0; !confirmed && rounds < 1000; rounds++) {
      assert.ok(inFlight.length <= FSYNC_SLOTS, `${inFlight.length} fsyncs in flight`);
      inFlight.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(confirmed, `commits still unconfirmed after 5 s (${inFlight.length} fsyncs held)`);
    await all;
    assert.ok(most <= FSYNC_SLOTS, `at most ${FSYNC_SLOTS} at once, saw ${most}`);
    // Each store: its first sync also syncs the folder (two fsync calls); the turns queued behind
    // the slots covered both commits.
    const syncs = stores.map((s) => (s.walSync as WalSync).syncs);
    assert.ok(
      syncs.slice(FSYNC_SLOTS).every((n) => n === 1),
      `stores that waited for a turn synced once: ${syncs}`,
    );
    for (const s of stores) s.close();
  } finally {
    disk.fsync = real;
  }
});

it('a long queue of turns whose objects closed meanwhile passes the slot on without growing the stack', async () => {
  const real = disk.fsync;
  let release: (() => void) | null = null;
  disk.fsync = (fd, done) => {
    disk.fsync = real;
    release = () => fsync(fd, done);
  };
  try {
    const first = new ObjectStorage(join(dir, 'queue-first.sqlite'));
    first.write([['k', bytes('1')]], []);
    const firstDone = first.confirmOutput();
    // 20,000 objects wait for a turn, then close (their files never existed: nothing to sync).
    const queued = Array.from({ length: 20_000 }, (_, i) => new WalSync(join(dir, `gone${i}.sqlite`)));
    const outcomes = queued.map((q) => {
      q.committed();
      return q.confirm().then(
        () => 'ok',
        () => 'failed',
      );
    });
    for (const q of queued) q.close();
    assert.ok(release, 'the first fsync is in flight');
    (release as () => void)();
    await firstDone;
    assert.ok((await Promise.all(outcomes)).every((o) => o === 'failed'));
    // The slot is free again.
    const after = new ObjectStorage(join(dir, 'queue-after.sqlite'));
    after.write([['k', bytes('1')]], []);
    await after.confirmOutput();
    first.close();
    after.close();
  } finally {
    disk.fsync = real;
  }
});
