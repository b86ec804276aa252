// Durable Objects through a real worker over HTTP: ids, stubs (fetch and RPC), the execution
// model (input gate, output gate, blockConcurrencyWhile), storage (KV and SQL APIs, limits,
// transactions), alarms, both class styles, and clear errors for bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDurableFixture, type TestDev } from './helpers.ts';

let fixture: Awaited<ReturnType<typeof startDurableFixture>>;
let dev: TestDev;
before(async () => {
  fixture = await startDurableFixture();
  dev = fixture.dev;
});
after(() => fixture.close());
const rpc = (name: string, method: string, ...args: unknown[]) => fixture.rpc(name, method, ...args);

describe('Durable Objects', () => {
  it('ids: idFromName is deterministic, newUniqueId differs, idFromString round-trips', async () => {
    const j = (await (await fetch(`${dev.url}/ids`)).json()) as Record<string, unknown>;
    assert.match(String(j.a), /^[0-9a-f]{64}$/);
    assert.deepEqual([j.again, j.name, j.roundTrip, j.differs], [true, 'a', true, true]);
  });
  it('concurrent requests to one object never interleave across a storage await (no lost update)', async () => {
    const all = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`${dev.url}/increment?name=race`).then((r) => r.json())),
    );
    const ns = (all as { n: number; ready: boolean }[]).map((a) => a.n).sort((a, b) => a - b);
    assert.deepEqual(
      ns,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.ok(
      (all as { ready: boolean }[]).every((a) => a.ready),
      'no event was delivered while blockConcurrencyWhile ran',
    );
  });
  it('I/O completions that arrive together each run to their end in the object (no lost update)', async () => {
    const at = Date.now() + 400;
    const all = await Promise.all(
      Array.from({ length: 40 }, () =>
        fetch(`${dev.url}/increment-after-io?name=race-io&at=${at}`).then((r) => r.json()),
      ),
    );
    const ns = (all as { n: number }[]).map((a) => a.n).sort((a, b) => a - b);
    assert.deepEqual(
      ns,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });
  it('RPC: public methods with structured-cloned arguments; errors rethrown with their message', async () => {
    assert.deepEqual(await rpc('rpc', 'add', 5), { result: 5 });
    assert.deepEqual(await rpc('rpc', 'add', 2), { result: 7 });
    assert.match((await rpc('rpc', 'throws')).error, /thrown in the object/);
    assert.match((await rpc('rpc', 'nope')).error, /does not implement the method "nope"/);
    assert.match((await rpc('rpc', 'alarm')).error, /does not implement the method "alarm"/);
    const who = (await rpc('who', 'whoAmI')).result;
    assert.equal(who.name, 'who');
    assert.match(who.id, /^[0-9a-f]{64}$/);
  });
  it('ctx.abort() fails the event and resets the object: the next call gets a new instance, storage kept', async () => {
    await rpc('reset', 'add', 3);
    assert.deepEqual([(await rpc('reset', 'memory')).result, (await rpc('reset', 'memory')).result], [1, 2]);
    assert.match((await rpc('reset', 'reset')).error, /Durable Object reset: asked to/);
    assert.equal((await rpc('reset', 'memory')).result, 1, 'a new instance');
    assert.equal((await rpc('reset', 'add', 1)).result, 4, 'its storage is where it was');
  });
  it('storage: get/put/delete single and batch, list with every option', async () => {
    const kv = (op: string, ...args: unknown[]) => rpc('kv', 'kv', op, ...args);
    await kv('put', { a: 1, b: { deep: [1, 2] }, c: 'three', 'p/1': 1, 'p/2': 2, 'p/3': 3 });
    assert.deepEqual((await kv('get', 'b')).result, { deep: [1, 2] });
    assert.deepEqual((await kv('get', ['a', 'zz', 'c'])).result, [
      ['a', 1],
      ['c', 'three'],
    ]);
    assert.deepEqual(
      (await kv('list', { prefix: 'p/' })).result.map((e: unknown[]) => e[0]),
      ['p/1', 'p/2', 'p/3'],
    );
    assert.deepEqual(
      (await kv('list', { prefix: 'p/', reverse: true, limit: 2 })).result.map((e: unknown[]) => e[0]),
      ['p/3', 'p/2'],
    );
    assert.deepEqual(
      (await kv('list', { start: 'b', end: 'p/2' })).result.map((e: unknown[]) => e[0]),
      ['b', 'c', 'p/1'],
    );
    assert.deepEqual(
      (await kv('list', { startAfter: 'p/1', limit: 1 })).result.map((e: unknown[]) => e[0]),
      ['p/2'],
    );
    assert.equal((await kv('delete', 'a')).result, true);
    assert.equal((await kv('delete', 'a')).result, false);
    assert.equal((await kv('delete', ['p/1', 'p/2', 'missing'])).result, 2);
    await kv('deleteAll');
    assert.deepEqual((await kv('list')).result, []);
  });
  it('storage limits and errors as Cloudflare words them', async () => {
    const kv = (op: string, ...args: unknown[]) => rpc('limits', 'kv', op, ...args);
    assert.match(
      (await kv('put', 'k'.repeat(2049), 1)).error,
      /RangeError: Keys cannot be larger than 2048 bytes/,
    );
    assert.match(
      (
        await kv(
          'get',
          Array.from({ length: 129 }, (_, i) => `k${i}`),
        )
      ).error,
      /Maximum number of keys is 128/,
    );
    assert.match(
      (await kv('list', { limit: 0 })).error,
      /TypeError: list\(\): limit must be a positive integer/,
    );
    assert.match((await kv('put', 'k')).error, /a value is required/);
    // Values: 128 KiB on the key-value backend, key and value up to 2 MB on SQLite.
    const big = (size: number) =>
      fetch(`${dev.url}/legacy?name=big&path=/big&size=${size}`).then((r) => r.text());
    assert.equal(await big(120 * 1024), 'stored');
    assert.match(await big(140 * 1024), /RangeError: Values cannot be larger than 131072 bytes/);
    assert.deepEqual(await rpc('big', 'fill', 1024 * 1024), { result: 'stored' });
    assert.match(
      (await rpc('big', 'fill', 2 * 1024 * 1024)).error,
      /Key and value combined cannot exceed 2097152 bytes/,
    );
  });
  it('reads see the latest write, delete, rollback and deleteAll (the storage cache in the isolate)', async () => {
    const kv = async (op: string, ...args: unknown[]) => (await rpc('cached', 'kv', op, ...args)).result;
    await kv('put', 'a', 1);
    assert.equal(await kv('get', 'a'), 1);
    assert.equal(await kv('get', 'a'), 1, 'twice: the second from the cache');
    await kv('put', { a: 2, b: 'two', o: { x: 1 } });
    assert.deepEqual(await kv('get', ['o', 'b', 'a', 'nope']), [
      ['a', 2],
      ['b', 'two'],
      ['o', { x: 1 }],
    ]);
    assert.equal(await kv('delete', 'a'), true);
    assert.equal(await kv('get', 'a'), undefined);
    assert.equal(await kv('delete', 'a'), false);
    assert.deepEqual(await kv('get', ['a', 'b']), [['b', 'two']]);
    await kv('deleteAll');
    assert.deepEqual([await kv('get', 'b'), await kv('get', 'o')], [undefined, undefined]);
    // A rolled-back transaction's write is not read back, before or after.
    assert.deepEqual((await rpc('cached', 'txn', true)).result, { error: 'rolled back', t1: null });
    assert.equal(await kv('get', 't1'), undefined);
    assert.deepEqual((await rpc('cached', 'txn', false)).result, { t1: 'a', t2: 'b' });
    assert.equal(await kv('get', 't1'), 'a');
  });
  it('object values come from the storage cache as fresh copies; a put takes the value as it was', async () => {
    assert.deepEqual((await rpc('copies', 'copies')).result, {
      a: [1, 2, 4],
      b: [1, 2],
      d: [1, 2],
      same: false,
      getterRuns: 1,
      counted: 'once',
    });
  });
  it('transactions commit together or not at all', async () => {
    assert.deepEqual((await rpc('txn', 'txn', true)).result, { error: 'rolled back', t1: null });
    assert.deepEqual((await rpc('txn', 'txn', false)).result, { t1: 'a', t2: 'b' });
  });
  it('a transaction awaiting I/O owns only its own writes: code running meanwhile neither joins it nor sees it', async () => {
    assert.deepEqual((await rpc('txn-iso', 'txnIsolation')).result, {
      rolled: 'roll back',
      // Inside: its own writes (by txn and by ctx.storage from its code), and what others wrote.
      seenInside: ['a', 'c', 1, 'new'],
      // Outside, while it was open: not its writes (not even through the storage cache).
      otherSaw: [null, 'old'],
      after: { 'iso/cached': 'old', 'iso/other-txn': 2, 'iso/outside': 1 },
    });
  });
  it('a blockConcurrencyWhile() that never settles resets the object after 30 s: held calls fail, the next gets a new instance', async () => {
    await rpc('stuck', 'add', 5);
    const blocked = Date.now();
    assert.equal((await rpc('stuck', 'stuckBlock')).result, 'stuck');
    // Arriving 2 s later, the held call meets the block's limit well before its own wall limit.
    await new Promise((r) => setTimeout(r, 2000));
    const held = await rpc('stuck', 'memory');
    const waited = Date.now() - blocked;
    assert.match(
      held.error,
      /Durable Object reset: blockConcurrencyWhile\(\) did not complete within 30 seconds/,
    );
    assert.ok(waited >= 29_000 && waited < 31_900, `reset ${waited} ms after the block began`);
    assert.equal((await rpc('stuck', 'memory')).result, 1, 'a new instance');
    assert.equal((await rpc('stuck', 'add', 1)).result, 6, 'its storage is where it was');
  });
  it('blockConcurrencyWhile inside another holds events until the outer one ends', async () => {
    assert.equal((await rpc('nested-block', 'nestedBlock', 300)).result, 'blocking');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal((await rpc('nested-block', 'kv', 'get', 'nb')).result, 'outer done');
  });
  it('transaction edges: deleteAll refused, rollback twice, code running on after its transaction ended', async () => {
    assert.deepEqual((await rpc('txn-edges', 'txnEdges')).result, {
      deleteAllInside: 'Cannot call deleteAll() within a transaction',
      txnDeleteAll: 'Cannot call deleteAll() within a transaction',
      twice: 'rolled back twice',
      nested:
        'this transaction was dropped: the transaction it was opened in ended before it (await a nested transaction inside the one it belongs to)',
      lateWrite:
        'this transaction was rolled back (its closure threw): code running in it cannot use storage any more',
      afterCommit: 'ok',
      alarm: true,
      stored: { 'e/after-commit': 1, 'e/keep': 1 },
    });
    // As Cloudflare: transactionSync() is for SQLite-backed objects only.
    const legacy = await fetch(`${dev.url}/legacy?name=sync&path=/sync-txn`);
    assert.equal(await legacy.text(), 'Durable Object is not backed by SQL.');
  });
  it('an event arriving while a transaction runs waits for it (as blockConcurrencyWhile)', async () => {
    const held = rpc('txn-hold', 'txnHold', 'v', 42, 300);
    await new Promise((r) => setTimeout(r, 100));
    const read = await rpc('txn-hold', 'kv', 'get', 'v');
    assert.equal(read.result, 42, 'delivered after the transaction committed');
    assert.equal((await held).result, 'committed');
  });
  it('transactions nest: an inner one rolls back alone, an outer one takes the inner ones with it', async () => {
    assert.deepEqual((await rpc('txn-nested', 'txnNested')).result, {
      stored: { 'n/async-kept': 8, 'n/async-outer': 6, 'n/inner2': 3, 'n/outer': 1 },
      late: 'this transaction has ended: its txn object cannot be used after its closure returned',
    });
  });
  it('SQL API for new_sqlite_classes: cursors, bindings, rows written; internal tables refused', async () => {
    await rpc('sql', 'sql', 'CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, title TEXT)');
    const ins = await rpc('sql', 'sql', 'INSERT INTO docs (title) VALUES (?), (?)', 'one', 'two');
    assert.equal(ins.result.written, 2);
    const sel = await rpc('sql', 'sql', 'SELECT id, title FROM docs WHERE title = ?', 'two');
    assert.deepEqual(sel.result, { rows: [{ id: 2, title: 'two' }], columns: ['id', 'title'], written: 0 });
    assert.match((await rpc('sql', 'sql', 'SELECT * FROM __cf_kv')).error, /not authorized/);
    assert.match((await rpc('sql', 'sql', 'SELEC nonsense')).error, /syntax error/);
    const legacy = await fetch(`${dev.url}/legacy?name=l&path=/sql`);
    assert.match(await legacy.text(), /SQL is not enabled for this Durable Object class/);
  });
  it('the older (state, env) class style works on the key-value backend', async () => {
    assert.equal(await (await fetch(`${dev.url}/legacy?name=old&value=hello`)).text(), 'hello');
    assert.equal(await (await fetch(`${dev.url}/legacy?name=old`)).text(), 'hello');
  });
  it('alarms fire at their time; a failing alarm() is retried', async () => {
    await rpc('alarm', 'kv', 'put', 'failFirstAlarm', true);
    const at = (await rpc('alarm', 'armAlarm', 30)).result;
    assert.ok(typeof at === 'number' && at > Date.now() - 1000);
    // First run throws; the retry comes ~2 s later.
    const deadline = Date.now() + 8000;
    let fired = 0;
    while (Date.now() < deadline) {
      fired = (await rpc('alarm', 'kv', 'get', 'alarms')).result ?? 0;
      if (fired >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(fired, 2);
    assert.equal((await rpc('alarm', 'kv', 'get', 'lastRetryCount')).result, 1);
    assert.equal((await rpc('alarm', 'kv', 'getAlarm')).result, null);
  });
  it('bad input: a class the worker does not export; private and inherited names over RPC', async () => {
    const ghost = await fetch(`${dev.url}/ghost`);
    assert.match(
      ((await ghost.json()) as { error: string }).error,
      /Durable Object Ghost failed to start: .*The Durable Object class "Ghost" is not exported by this worker \(its exports: .*Counter/,
    );
    assert.match((await rpc('rpc', '#secret')).error, /does not implement the method "#secret"/);
    assert.match((await rpc('rpc', 'toString')).error, /does not implement the method "toString"/);
    // The stub itself does not offer these names.
    assert.match((await rpc('rpc', 'constructor')).error, /is not a function/);
  });
  it('bad input: malformed id strings, ids of another namespace', async () => {
    const bad = await fetch(`${dev.url}/id-from-string?s=zz`);
    assert.match(
      ((await bad.json()) as { error: string }).error,
      /TypeError: Invalid Durable Object ID: must be 64 hex digits/,
    );
    const other = await fetch(`${dev.url}/id-from-string?s=${'0'.repeat(64)}`);
    assert.match(
      ((await other.json()) as { error: string }).error,
      /ID is not for this Durable Object namespace/,
    );
  });
});
