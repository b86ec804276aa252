import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RouteConfig } from '../config/index.ts';
import {
  type ConnectionShare,
  type HandedProcess,
  hostOfHead,
  MAX_IN_FLIGHT,
  processSlot,
  reachesSlot,
  type Slot,
  shareByHost,
  slotOf,
} from './affinity.ts';

describe('reading the host of a first request head', () => {
  const head = (s: string) => hostOfHead(Buffer.from(s, 'latin1'));
  it('finds the Host field, case-insensitively, without its port', () => {
    assert.equal(head('GET / HTTP/1.1\r\nHOST: A.Example:8080\r\naccept: */*\r\n\r\n'), 'a.example');
    assert.equal(head('GET / HTTP/1.1\r\nx: 1\r\nhost:[::1]:80\r\n\r\nbody'), '[::1]');
    assert.equal(head('GET / HTTP/1.0\nHost: b.example\n\n'), 'b.example');
  });
  it('waits for the whole head; an absolute-form target names the host, whatever Host says', () => {
    assert.equal(head('GET / HTTP/1.1\r\nHost: a.exa'), undefined);
    assert.equal(head('GET http://c.example:81/x HTTP/1.1\r\n\r\n'), 'c.example');
    assert.equal(
      head('GET http://c.example/ HTTP/1.1\r\nHost: other.example\r\n\r\n'),
      'c.example',
      'RFC 9112 §3.2.2',
    );
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
  const start = (i: number, readyAfterMs = 0, env: Record<string, string> = {}) => {
    const child = fork(join(import.meta.dirname, 'affinity.fixture.ts'), {
      env: { ...process.env, SLOT: String(i), OF: '3', READY_AFTER_MS: String(readyAfterMs), ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    slots[i] = Object.assign(
      processSlot(child, () => share?.flush()),
      { child },
    );
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

  it('an upgrade keeps the bytes that come before its handler takes the socket, and after', async () => {
    const raw = await exchange(
      share.port,
      ['GET / HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n', 'EARLY', 'LATE'],
      150,
      /EARLYLATE$/,
    );
    assert.match(raw, /^HTTP\/1\.1 101 [\s\S]*\r\n\r\nEARLYLATE$/);
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

  it("a connection that fell back is closed after its answer, so the host's own process gets the next", async () => {
    const host = Array.from({ length: 50 }, (_, i) => `k${i}.example`).find(
      (h) => slotOf(h, 3) === 1,
    ) as string;
    const keepAlive = `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    (slots[1] as Slot).ready = false;
    const fell = await exchange(share.port, [keepAlive]);
    assert.equal(bodyOf(fell), `2 ${host} `);
    assert.match(fell, /\r\nConnection: close\r\n/i, 'served away from its slot: not kept alive');
    (slots[1] as Slot).ready = true;
    const home = await exchange(share.port, [keepAlive], 0, /\r\n\r\n\d [^ ]+ $/);
    assert.equal(bodyOf(home), `1 ${host} `);
    assert.match(home, /\r\nConnection: keep-alive\r\n/i, 'at home: kept alive');
  });

  it('a process that stops taking connections off its channel is passed over after MAX_IN_FLIGHT', async () => {
    const host = Array.from({ length: 50 }, (_, i) => `s${i}.example`).find(
      (h) => slotOf(h, 3) === 0,
    ) as string;
    (slots[0] as Slot & { child: ChildProcess }).child.kill();
    await new Promise((r) => setTimeout(r, 100));
    start(0, 0, { BLOCK_AFTER_READY_MS: '3000' });
    await allReady();
    await new Promise((r) => setTimeout(r, 100)); // blocked now
    // One connection is written to its channel (then awaits the process's ack), MAX_IN_FLIGHT
    // more queue behind it; the next go to slot 1 meanwhile.
    const stuck = Array.from({ length: MAX_IN_FLIGHT + 1 }, () => exchange(share.port, [get(host)]));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((slots[0] as Slot).inFlight, MAX_IN_FLIGHT);
    assert.equal(bodyOf(await exchange(share.port, [get(host)])), `1 ${host} `);
    for (const r of await Promise.all(stuck))
      assert.equal(bodyOf(r), `0 ${host} `, 'served once it took them');
    assert.equal((slots[0] as Slot).inFlight, 0);
  });
});

describe('connections waiting while every process is busy', () => {
  it('go as soon as one has room, whether or not anyone calls flush()', async () => {
    const sent: string[] = [];
    const slot = {
      ready: true,
      inFlight: MAX_IN_FLIGHT,
      send: (m: { head: string }, s: Socket) => {
        sent.push(m.head);
        s.destroy();
      },
    };
    const share = await shareByHost({ host: '127.0.0.1', port: 0, slots: [slot as unknown as Slot] });
    try {
      const client = connect(share.port, '127.0.0.1');
      client.on('error', () => {});
      client.write('GET / HTTP/1.1\r\nHost: busy.example\r\n\r\n');
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(sent, [], 'waits while the only process has MAX_IN_FLIGHT queued');
      slot.inFlight = 0; // room again, and nobody says so
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(sent.length, 1);
      assert.match(sent[0] as string, /busy\.example/);
      client.destroy();
    } finally {
      await share.close();
    }
  });
});

describe('a slot of a process whose channel fails', () => {
  /** A process that answers each send as `answer` says, and is an event emitter like one. */
  const fake = (answer: 'ok' | 'error' | 'throw' | 'never') => {
    const child = new EventEmitter() as EventEmitter & HandedProcess;
    child.send = (_m, _s, _o, done) => {
      if (answer === 'throw') throw new Error('channel closed');
      if (answer === 'error') process.nextTick(done, new Error('ERR_IPC_CHANNEL_CLOSED'));
      if (answer === 'ok') process.nextTick(done, null);
      return true;
    };
    return child;
  };
  const socketPair = async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    const socket = await accepted;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.on('error', () => {});
    return { socket, closed, done: () => server.close() };
  };
  const message = { type: 'outpost:connection', head: '' } as const;

  it('a send that fails or throws closes its connection; nothing is thrown into the primary', async () => {
    for (const answer of ['error', 'throw'] as const) {
      const slot = processSlot(fake(answer), () => {});
      const { socket, closed, done } = await socketPair();
      slot.send(message, socket);
      await closed;
      assert.equal(slot.inFlight, 0);
      done();
    }
  });

  it('its channel closing: not ready any more, and connections still queued for it are closed', async () => {
    const child = fake('never');
    let readied = 0;
    const slot = processSlot(child, () => readied++);
    child.emit('message', { type: 'outpost:ready' });
    assert.equal(slot.ready, true);
    assert.equal(readied, 1);
    const { socket, closed, done } = await socketPair();
    slot.send(message, socket);
    assert.equal(slot.inFlight, 1);
    child.emit('error', new Error('ERR_IPC_CHANNEL_CLOSED')); // no listener would have crashed it
    child.emit('disconnect');
    assert.equal(slot.ready, false);
    await closed;
    assert.equal(slot.inFlight, 0);
    done();
  });
});
