// The output gate with group commit (src/durable-objects/output-gate.ts, wal-sync.ts): while the
// fsync that covers an object's write is held, nothing the object says after the write leaves —
// not its response, an exception, a subrequest, a call to another object, a WebSocket message
// or close, nor the resolution of storage.sync() — and all of it leaves, in order, once the
// fsync completes. The dev server runs in this process, so the test holds fsyncs itself.
import assert from 'node:assert/strict';
import { fsync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { disk } from '../src/durable-objects/wal-sync.ts';
import { copyFixture, startFixture, type TestDev, waitFor } from './helpers.ts';

let dev: TestDev;
// A copy: each run starts with empty object storage.
const project = copyFixture('output-gate');
let origin: Server;
let originUrl = '';
let originHits = 0;
const realFsync = disk.fsync;

/** fsyncs asked for while held, started when let go; the next one fails when asked. */
let holding = false;
let failNext = false;
const held: (() => void)[] = [];
function hold(): void {
  holding = true;
}
function letGo(): void {
  holding = false;
  for (const start of held.splice(0)) start();
}

before(async () => {
  disk.fsync = (fd, done) => {
    if (failNext) {
      failNext = false;
      const err = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      setImmediate(() => done(err));
    } else if (holding) held.push(() => fsync(fd, done));
    else fsync(fd, done);
  };
  origin = createServer((_req, res) => {
    originHits++;
    res.end('ok');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  dev = await startFixture(project.dir);
});
after(async () => {
  letGo();
  disk.fsync = realFsync;
  await dev?.close();
  project.cleanup();
  origin?.close();
});

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a request and reports whether it has answered yet. */
function track(url: string) {
  let answered = false;
  const response = fetch(url).then(async (r) => {
    const body = { status: r.status, text: await r.text() };
    answered = true;
    return body;
  });
  return { response, answered: () => answered };
}

describe('the output gate waits for the disk (group commit)', () => {
  it('a subrequest made after a write starts only once the write is on the disk', async () => {
    await (await fetch(`${dev.url}/read?name=f`)).text(); // the object is made, no write pending
    hold();
    const before = originHits;
    const r = track(`${dev.url}/put-fetch?name=f&origin=${encodeURIComponent(originUrl)}`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(300);
    assert.equal(originHits, before, 'the subrequest left before the write was on the disk');
    assert.equal(r.answered(), false);
    letGo();
    assert.deepEqual(await r.response, { status: 200, text: 'fetched' });
    assert.equal(originHits, before + 1);
  });

  it('a call to another object made after a write waits too', async () => {
    assert.equal(await (await fetch(`${dev.url}/hits`)).text(), '0');
    hold();
    const r = track(`${dev.url}/put-call?name=c`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(300);
    // The other object wrote nothing: it answers at once, and has not been called.
    assert.equal(await (await fetch(`${dev.url}/hits`)).text(), '0');
    letGo();
    assert.deepEqual(await r.response, { status: 200, text: 'called' });
    assert.equal(await (await fetch(`${dev.url}/hits`)).text(), '1');
  });

  it('SQL: a subrequest after an INSERT waits for the disk too (the SQL host commits to the WAL only)', async () => {
    assert.equal(await (await fetch(`${dev.url}/sql-read`)).text(), '0');
    hold();
    const before = originHits;
    const r = track(`${dev.url}/sql-insert?origin=${encodeURIComponent(originUrl)}`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(300);
    assert.equal(originHits, before, 'the subrequest left before the INSERT was on the disk');
    letGo();
    assert.deepEqual(await r.response, { status: 200, text: 'inserted' });
    assert.equal(originHits, before + 1);
    // A statement that changed nothing is no commit: the next answer does not wait.
    hold();
    assert.equal(await (await fetch(`${dev.url}/sql-read`)).text(), '1');
    letGo();
  });

  it('storage.sync() resolves only once the write is on the disk', async () => {
    hold();
    const r = track(`${dev.url}/put-sync?name=s`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(300);
    assert.ok(!dev.logs.some((e) => e.message === 'synced'), 'sync() resolved before the fsync');
    letGo();
    assert.deepEqual(await r.response, { status: 200, text: 'synced' });
    await waitFor(() => dev.logs.some((e) => e.message === 'synced'), 5000, 'the log line');
  });

  it('an exception thrown after a write leaves after the write, which is kept', async () => {
    hold();
    const r = track(`${dev.url}/put-throw?name=t`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(300);
    assert.equal(r.answered(), false, 'the exception left before its write was on the disk');
    letGo();
    assert.equal((await r.response).status, 500);
    assert.equal(await (await fetch(`${dev.url}/read?name=t`)).text(), '1');
  });

  it('a WebSocket message and the close after it leave in order, after the write', async () => {
    const ws = new WebSocket(`${dev.url.replace('http', 'ws')}/socket?name=w`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const seen: string[] = [];
    ws.on('message', (d) => seen.push(`message ${d}`));
    const closed = new Promise<void>((resolve) =>
      ws.once('close', (code, reason) => {
        seen.push(`close ${code} ${reason}`);
        resolve();
      }),
    );
    hold();
    ws.send('hello');
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(300);
    assert.deepEqual(seen, [], 'something left before the write was on the disk');
    letGo();
    await closed;
    assert.deepEqual(seen, ['message stored hello', 'close 4000 done']);
  });

  it('an object that wrote nothing is not held by another object’s pending fsync', async () => {
    await (await fetch(`${dev.url}/read?name=idle`)).text();
    hold();
    const r = track(`${dev.url}/put-fetch?name=busy&origin=${encodeURIComponent(originUrl)}`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    assert.equal(await (await fetch(`${dev.url}/read?name=idle`)).text(), 'none');
    letGo();
    assert.equal((await r.response).status, 200);
  });

  it('a streamed body: a chunk made after a write leaves after the write is on the disk', async () => {
    await (await fetch(`${dev.url}/read?name=st`)).text();
    hold();
    const res = await fetch(`${dev.url}/stream?name=st`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const first = await reader.read();
    text += decoder.decode(first.value);
    assert.equal(text, 'first;');
    let more = false;
    const rest = (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        more = true;
        text += decoder.decode(r.value);
      }
    })();
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(300);
    assert.equal(more, false, 'a chunk left before the write made for it was on the disk');
    letGo();
    await rest;
    assert.equal(text, 'first;wrote');
  });

  it('an RPC result after a write waits for the write', async () => {
    hold();
    const r = track(`${dev.url}/rpc?v=x`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(300);
    assert.equal(r.answered(), false);
    letGo();
    assert.deepEqual(await r.response, { status: 200, text: 'stored x' });
  });

  it("an answer made before another event's write does not wait for that write", async () => {
    // The object's answers are held in its isolate for the rest of their batch of events
    // (src/runtime/isolate/outbox.ts); one held past a later event's commit would wait for it.
    assert.equal(await (await fetch(`${dev.url}/answer-then-write?v=a`)).text(), 'first 1');
    // Its answer passes the gate once that write is on the disk: nothing of it is pending after.
    assert.equal(await (await fetch(`${dev.url}/read?name=pair`)).text(), 'none');
    hold();
    const r = track(`${dev.url}/answer-then-write?v=b`);
    await waitFor(() => held.length > 0, 5000, 'the second event’s fsync to be asked for');
    await settle(300);
    assert.equal(r.answered(), true, 'the first answer waited for the second event’s write');
    letGo();
    assert.deepEqual(await r.response, { status: 200, text: 'first 2' });
  });

  it('a fetch aborted while it waits at the gate never starts', async () => {
    await (await fetch(`${dev.url}/read?name=ab`)).text();
    const before = originHits;
    hold();
    const r = track(`${dev.url}/abort?name=ab&origin=${encodeURIComponent(originUrl)}`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(200); // the worker aborts its fetch meanwhile
    letGo();
    assert.deepEqual(await r.response, { status: 200, text: 'AbortError' });
    await settle(200);
    assert.equal(originHits, before, 'the aborted fetch was made');
  });

  it('calls waiting at the gate are bounded: past 1,000 a call fails at once', async () => {
    await (await fetch(`${dev.url}/read?name=fl`)).text();
    hold();
    const r = track(`${dev.url}/flood?name=fl`);
    await waitFor(() => held.length > 0, 5000, 'the fsync to be asked for');
    await settle(200);
    letGo();
    const out = JSON.parse((await r.response).text);
    assert.equal(out.refused, 1);
    assert.match(out.message, /at most 1000 calls and 16 MiB/);
  });

  it('a failed fsync withholds what waited for it and takes the object out of service until restart; others go on', async () => {
    const url = `${dev.url}/put-fetch?name=e&origin=${encodeURIComponent(originUrl)}`;
    assert.equal((await fetch(url)).status, 200);
    const before = originHits;
    failNext = true;
    const r = await fetch(url);
    assert.equal(r.status, 500);
    assert.equal(originHits, before, 'the subrequest left although its write was not on the disk');
    await waitFor(
      () => dev.logs.some((e) => /out of service until restart: an fsync failed: EIO/.test(e.message)),
      5000,
      'the failure to be logged',
    );
    const again = await fetch(url);
    assert.equal(again.status, 500);
    assert.ok(
      dev.logs.some((e) =>
        /could not be written to disk \(EIO\): the object is out of service until Outpost restarts/.test(
          String(e.fields?.error ?? ''),
        ),
      ),
      'the next call is refused, naming why',
    );
    assert.equal(originHits, before);
    // Another object is not affected.
    assert.equal(
      (await fetch(`${dev.url}/put-fetch?name=e2&origin=${encodeURIComponent(originUrl)}`)).status,
      200,
    );
  });
});
