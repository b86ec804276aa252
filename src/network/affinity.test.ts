import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RouteConfig } from '../config/index.ts';
import { type ConnectionShare, hostOfHead, reachesSlot, type Slot, shareByHost, slotOf } from './affinity.ts';

describe('reading the host of a first request head', () => {
  const head = (s: string) => hostOfHead(Buffer.from(s, 'latin1'));
  it('finds the Host field, case-insensitively, without its port', () => {
    assert.equal(head('GET / HTTP/1.1\r\nHOST: A.Example:8080\r\naccept: */*\r\n\r\n'), 'a.example');
    assert.equal(head('GET / HTTP/1.1\r\nx: 1\r\nhost:[::1]:80\r\n\r\nbody'), '[::1]');
    assert.equal(head('GET / HTTP/1.0\nHost: b.example\n\n'), 'b.example');
  });
  it('waits for the whole head; an absolute-form target names the host when Host is absent', () => {
    assert.equal(head('GET / HTTP/1.1\r\nHost: a.exa'), undefined);
    assert.equal(head('GET http://c.example:81/x HTTP/1.1\r\n\r\n'), 'c.example');
  });
  it('no host, or not HTTP/1: null (round-robin)', () => {
    assert.equal(head('GET / HTTP/1.1\r\n\r\n'), null);
    assert.equal(head('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), null);
    assert.equal(head('\x16\x03\x01 garbage\r\n\r\n'), null);
    assert.equal(head(`GET / HTTP/1.1\r\nx: ${'a'.repeat(40_000)}`), null, 'too long to wait for');
  });
  it('a worker reaches a slot through an exact host of its routes, any wildcard host, or no routes', () => {
    const route = (pattern: string, extra: Partial<RouteConfig> = {}): RouteConfig => ({
      pattern,
      zoneName: undefined,
      zoneId: undefined,
      customDomain: false,
      enabled: true,
      previewsEnabled: undefined,
      ...extra,
    });
    const a = 'a.example';
    const other = (slotOf(a, 4) + 1) % 4;
    assert.equal(reachesSlot([route(`${a}/*`)], slotOf(a, 4), 4), true);
    assert.equal(reachesSlot([route(`${a}/*`)], other, 4), false);
    assert.equal(reachesSlot([route(a, { customDomain: true })], other, 4), false);
    assert.equal(reachesSlot([route(`${a}/*`), route('*.shop.example/*')], other, 4), true);
    assert.equal(reachesSlot([], other, 4), true);
    assert.equal(reachesSlot([route(a, { customDomain: true, enabled: false })], other, 4), true);
  });

  it('a host has one slot whatever its case; hosts spread over the slots', () => {
    assert.equal(slotOf('Shop.Example', 4), slotOf('shop.example', 4));
    const used = new Set(Array.from({ length: 64 }, (_, i) => slotOf(`t${i}.example`, 4)));
    assert.equal(used.size, 4);
    assert.equal(slotOf('anything', 1), 0);
  });
});

/** Send `parts` on a fresh connection (each after `gapMs`), read until it closes or `until` matches. */
function exchange(port: number, parts: string[], gapMs = 0, until = /\r\n\r\n[\s\S]*$/): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer; got ${JSON.stringify(got)}`));
    }, 5000);
    s.setEncoding('latin1');
    s.on('data', (c: string) => {
      got += c;
      if (until.test(got)) {
        clearTimeout(timer);
        s.end();
        resolve(got);
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', reject);
    s.on('connect', async () => {
      for (const p of parts) {
        s.write(p);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}
/** The body of the last response in `raw`. */
const bodyOf = (raw: string) => raw.slice(raw.lastIndexOf('\r\n\r\n') + 4);
const get = (host: string) => `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

describe('handing connections to the process of their host', () => {
  const children: ChildProcess[] = [];
  const slots: (Slot & { child: ChildProcess })[] = [];
  let share: ConnectionShare;

  /** Fork process `i` (slot i); it says it is ready after `readyAfterMs`. */
  const start = (i: number, readyAfterMs = 0) => {
    const child = fork(join(import.meta.dirname, 'affinity.fixture.ts'), {
      env: { ...process.env, SLOT: String(i), READY_AFTER_MS: String(readyAfterMs) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const slot = { ready: false, child, send: (m: never, s: never) => void child.send(m, s) };
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'outpost:ready') {
        slot.ready = true;
        share?.flush();
      }
    });
    child.on('exit', () => {
      slot.ready = false;
    });
    children.push(child);
    slots[i] = slot;
  };
  const allReady = async () => {
    while (!slots.every((s) => s.ready)) await new Promise((r) => setTimeout(r, 20));
  };

  before(async () => {
    for (let i = 0; i < 3; i++) start(i);
    share = await shareByHost({ host: '127.0.0.1', port: 0, slots, holdMs: 300 });
    await allReady();
  });
  after(async () => {
    await share?.close();
    for (const c of children) c.kill();
  });

  it("every connection for a host goes to its slot's process; hosts spread over all three", async () => {
    const seen = new Map<string, Set<string>>();
    for (let h = 0; h < 12; h++)
      for (let k = 0; k < 3; k++) {
        const host = `t${h}.example`;
        const [slot, echoed] = bodyOf(await exchange(share.port, [get(host)])).split(' ');
        assert.equal(echoed, host);
        assert.equal(slot, String(slotOf(host, 3)), `${host} served by its slot`);
        seen.set(host, (seen.get(host) ?? new Set()).add(slot as string));
      }
    assert.ok([...seen.values()].every((s) => s.size === 1));
    assert.equal(new Set([...seen.values()].flatMap((s) => [...s])).size, 3);
  });

  it('nothing sent after the head is lost: a body that comes later, a second request on the connection', async () => {
    const host = 'late-body.example';
    const raw = await exchange(
      share.port,
      [`POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 10\r\n\r\n`, 'abcde', 'fghij'],
      60,
    );
    assert.equal(bodyOf(raw), `${slotOf(host, 3)} ${host} abcdefghij`);
    // Keep-alive: the second request stays with the process the first went to (per connection).
    const other = Array.from({ length: 20 }, (_, i) => `o${i}.example`).find(
      (h) => slotOf(h, 3) !== slotOf(host, 3),
    );
    const two = await exchange(
      share.port,
      [`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`, get(other as string)],
      60,
      /\r\n\r\n\d [^ ]+ [\s\S]*\r\n\r\n\d [^ ]+ $/,
    );
    assert.equal(bodyOf(two), `${slotOf(host, 3)} ${other} `);
  });

  it('a head that is not HTTP/1 goes to some process, whose server answers 400', async () => {
    const raw = await exchange(share.port, ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']);
    assert.match(raw, /^HTTP\/1\.1 400/);
  });

  it('a head slower than the hold time is handed over unread to the end and still answered', async () => {
    const raw = await exchange(
      share.port,
      ['GET / HTTP/1.1\r\nHo', 'st: slow.example\r\nConnection: close\r\n\r\n'],
      500,
    );
    assert.match(bodyOf(raw), / slow\.example $/);
  });

  it('a slot whose process is gone goes to the next ready one; with none ready, connections wait', async () => {
    const host = Array.from({ length: 50 }, (_, i) => `g${i}.example`).find(
      (h) => slotOf(h, 3) === 1,
    ) as string;
    (slots[1] as Slot & { child: ChildProcess }).child.kill();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(bodyOf(await exchange(share.port, [get(host)])), `2 ${host} `);
    start(1, 300); // ready later: until then its hosts keep going to slot 2
    assert.equal(bodyOf(await exchange(share.port, [get(host)])), `2 ${host} `);
    await allReady();
    assert.equal(bodyOf(await exchange(share.port, [get(host)])), `1 ${host} `);
    for (const s of slots) s.ready = false; // as if none were ready
    const waiting = exchange(share.port, [get(host)]);
    await new Promise((r) => setTimeout(r, 100));
    (slots[0] as Slot).ready = true;
    share.flush();
    assert.equal(bodyOf(await waiting), `0 ${host} `);
    for (const s of slots) s.ready = true;
  });
});
