/**
 * Attacks on the node primary's connection handover (src/network/affinity.ts): clients of a node
 * of several processes reach code in the primary (it reads each connection's first request head)
 * before any process's HTTP server. None of this may take the primary down (that takes every
 * process's connections with it), wedge it, or get bytes to a process other than as sent.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ConnectionShare, processSlot, type Slot, shareByHost } from '../../src/network/affinity.ts';

const FIXTURE = join(import.meta.dirname, '..', '..', 'src', 'network', 'affinity.fixture.ts');

/** Write `parts` on a fresh connection, then end it ('rst': destroy instead); what came back. */
function raw(
  port: number,
  parts: string[],
  end: 'close' | 'rst' | 'wait' = 'wait',
  ms = 3000,
): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (c: string) => {
      got += c;
    });
    s.on('error', () => {});
    const timer = setTimeout(() => s.destroy(), ms);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('connect', () => {
      for (const p of parts) s.write(p);
      if (end === 'rst') s.resetAndDestroy();
      else if (end === 'close') s.end();
    });
  });
}

describe('the connection handover under attack', () => {
  const children: ChildProcess[] = [];
  const slots: Slot[] = [];
  let share: ConnectionShare;
  let exits = 0;

  before(async () => {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < 2; i++) {
      const child = fork(FIXTURE, {
        env: { ...process.env, SLOT: String(i), OF: '2' },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      child.on('exit', () => exits++);
      children.push(child);
      ready.push(new Promise((resolve) => slots.push(processSlot(child, resolve))));
    }
    await Promise.all(ready);
    share = await shareByHost({ host: '127.0.0.1', port: 0, slots, holdMs: 500 });
  });
  after(async () => {
    await share?.close();
    for (const c of children) c.kill();
  });

  const normal = async () =>
    raw(share.port, ['GET / HTTP/1.1\r\nHost: after.example\r\nConnection: close\r\n\r\n'], 'wait');

  it('connections reset mid-head, mid-body and right after the head leave the primary serving', async () => {
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        raw(
          share.port,
          i % 3 === 0
            ? ['GET / HTTP/1.1\r\nHost: r.exa']
            : i % 3 === 1
              ? [
                  `POST / HTTP/1.1\r\nHost: r${i}.example\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(50_000)}`,
                ]
              : [`GET / HTTP/1.1\r\nHost: r${i}.example\r\n\r\n`],
          'rst',
        ),
      ),
    );
    assert.match(await normal(), /^HTTP\/1\.1 200[\s\S]* after\.example $/);
    assert.equal(exits, 0, 'no process died');
  });

  it('an endless head, a head of NULs, a half-close before the head: each answered or closed, nothing stuck', async () => {
    const endless = await raw(share.port, [`GET / HTTP/1.1\r\nX: ${'a'.repeat(40_000)}`], 'wait');
    assert.match(endless, /^HTTP\/1\.1 431/, 'too large: the process answers 431');
    const nuls = await raw(share.port, ['\0'.repeat(5000), '\r\n\r\n'], 'wait');
    assert.match(nuls, /^HTTP\/1\.1 400/);
    const half = await raw(share.port, ['GET / HTTP/1.1\r\nHost: h'], 'close');
    assert.ok(half === '' || /^HTTP\/1\.1 400/.test(half), JSON.stringify(half.slice(0, 40)));
    assert.match(await normal(), /^HTTP\/1\.1 200/);
  });

  it('slow and idle connections do not hold up the others', async () => {
    const idle = Array.from({ length: 200 }, () => raw(share.port, [], 'wait', 1500));
    const slow = Array.from({ length: 50 }, () => raw(share.port, ['GET / HTTP/1.1\r\nHo'], 'wait', 1500));
    const started = performance.now();
    assert.match(await normal(), /^HTTP\/1\.1 200/);
    assert.ok(performance.now() - started < 1000, 'served while 250 connections sat idle or slow');
    await Promise.all([...idle, ...slow]);
    assert.equal(exits, 0);
  });

  it('Host tricks pick a process, never change what it is sent: answered as a server of its own answers', async () => {
    // The same handler as the processes' (affinity.fixture.ts), listening for itself.
    const direct = createServer((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => res.end(`X ${req.headers.host ?? '-'} ${body}`));
    });
    await new Promise<void>((r) => direct.listen(0, '127.0.0.1', r));
    const directPort = (direct.address() as { port: number }).port;
    /** Status line and body, without which process answered. */
    const gist = (raw: string) =>
      `${raw.split('\r\n')[0]} | ${raw.slice(raw.indexOf('\r\n\r\n') + 4).replace(/^[0-9X] /, '')}`;
    try {
      for (const head of [
        'GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: a.example\r\n b.example\r\nConnection: close\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: a.ex\0ample\r\nConnection: close\r\n\r\n',
        'GET http://c.example/ HTTP/1.1\r\nHost: d.example\r\nConnection: close\r\n\r\n',
        'GET / HTTP/1.1\r\nhOsT:   E.Example:81  \r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
      ]) {
        const handed = await raw(share.port, [head], 'wait');
        const own = await raw(directPort, [head], 'wait');
        assert.equal(gist(handed), gist(own), JSON.stringify(head));
      }
    } finally {
      direct.close();
    }
    assert.equal(exits, 0);
  });
});
