// Attacks on Queues and Cron Triggers from tenant code and clients: malformed sends are errors
// naming what was wrong (never a host crash), a consumer that tampers with the intrinsics its
// decisions pass through cannot make the host act on messages outside its batch, and the
// scheduled admin endpoint needs the admin token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startFixture, type TestDev } from '../helpers.ts';

/** The consumer's log; while the forger's patch is live its own fetch() may fail: asked again. */
async function readLog(url: string): Promise<string[]> {
  for (;;) {
    const res = await fetch(`${url}/log`);
    if (res.ok) return (await res.json()) as string[];
    await res.text();
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Queues: a tenant attacking its binding and its consumer', () => {
  let dev: TestDev;
  let fixture: ReturnType<typeof copyFixture>;
  before(async () => {
    fixture = copyFixture('queue-attacker');
    dev = await startFixture(fixture.dir);
  });
  after(async () => {
    await dev.close();
    fixture.cleanup();
  });

  it('bad sends are errors naming the problem; the host keeps serving', async () => {
    const out = (await (await fetch(`${dev.url}/try`)).json()) as Record<string, string>;
    assert.match(out.big, /TypeError: Queue send: message too large \(130000 bytes, limit 128 KB\)/);
    assert.match(out.many, /TypeError: Queue sendBatch: a batch holds 1 to 100 messages, received 101/);
    assert.match(out.cyclic, /TypeError/);
    assert.match(out.type, /TypeError: Queue send: contentType must be "json", "text", "bytes" or "v8"/);
    assert.match(out.v8, /TypeError: Queue send: contentType "v8" is not supported by Outpost yet/);
    assert.match(out.delay, /TypeError: Queue send: delaySeconds must be a whole number of seconds/);
    assert.match(out.negative, /TypeError: Queue send: delaySeconds must be a whole number of seconds/);
    assert.match(out.notIterable, /TypeError: Queue sendBatch: messages must be an iterable/);
    assert.match(out.textNotString, /TypeError: Queue send: a "text" message body must be a string/);
    assert.equal((await fetch(`${dev.url}/log`)).status, 200);
  });

  it("a consumer that forges its decisions acks only its own batch's message", async () => {
    await (await fetch(`${dev.url}/send`)).text();
    // max_retries = 0: the victim (which throws) is delivered once, then dropped; the forger's
    // tampering must not have acked the victim in between, so it is delivered exactly once
    // (attempt 1) and then dropped, never acked by the other batch.
    const end = Date.now() + 8000;
    let log: string[] = [];
    while (Date.now() < end) {
      log = await readLog(dev.url);
      if (log.includes('forger:1') && log.includes('victim:1')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(log, ['forger:1', 'victim:1']);
    for (let i = 0; i < 100 && !dev.logs.some((l) => /dropped after 0 retries/.test(l.message)); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      dev.logs.some((l) => /queue attack: 1 message\(s\) dropped after 0 retries/.test(l.message)),
      'the victim was retried (and, past max_retries, dropped), not acked by the forger',
    );
    // The forged entries (a negative delay, an object where an id goes) were ignored: the
    // consumer is still consuming.
    await (await fetch(`${dev.url}/after`)).text();
    const until = Date.now() + 5000;
    while (
      Date.now() < until &&
      !((await (await fetch(`${dev.url}/log`)).json()) as string[]).includes('after:1')
    )
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(((await (await fetch(`${dev.url}/log`)).json()) as string[]).includes('after:1'));
    assert.ok(!dev.logs.some((l) => /the consumer stopped/.test(l.message)));
  });
});

describe('the scheduled admin endpoint', () => {
  it('needs the admin token to list or run crons', async () => {
    const dev = await startFixture('scheduled-only');
    try {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${dev.url}/__outpost/scheduled`, { method });
        assert.equal(res.status, 401, method);
        const wrong = await fetch(`${dev.url}/__outpost/scheduled`, {
          method,
          headers: { authorization: 'Bearer not-the-token-at-all-0000' },
        });
        assert.equal(wrong.status, 401, method);
      }
      assert.ok(!dev.logs.some((l) => /only scheduled/.test(l.message)), 'nothing ran');
    } finally {
      await dev.close();
    }
  });
});
