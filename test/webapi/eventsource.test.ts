// EventSource inside an isolate, against a server-sent events origin on loopback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startUpstream, type Upstream } from '../helpers.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
let upstream: Upstream;
const lastEventIds: (string | undefined)[] = [];
before(async () => {
  h = await startHarness();
  upstream = await startUpstream();
  let connections = 0;
  upstream.routes.set('/events', (req, res) => {
    connections++;
    lastEventIds.push(req.headers['last-event-id'] as string | undefined);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (connections === 1) {
      // Split mid-line across writes; a comment; a named event; two data lines; then drop.
      res.write('\uFEFFretry: 50\n: a comment\nda');
      res.write('ta: first\n\nevent: custom\ndata: line 1\ndata: line 2\nid: 7\n\n');
      res.end();
    } else {
      res.end('data: after reconnect\r\n\r\n');
    }
  });
  upstream.routes.set('/not-sse', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('nope');
  });
});
after(async () => {
  await h.close();
  await upstream.close();
});

describe('EventSource', () => {
  it('parses events, reconnects after the retry delay with Last-Event-ID', async () => {
    const out = await h.run(
      `
      const es = new EventSource(input.url);
      const seen = [];
      let opens = 0;
      es.onopen = () => opens++;
      await new Promise((resolve) => {
        es.onmessage = (e) => { seen.push(['message', e.data, e.lastEventId]); if (seen.length === 3) resolve(); };
        es.addEventListener('custom', (e) => seen.push(['custom', e.data, e.lastEventId]));
      });
      es.close();
      return { seen, opens, state: es.readyState };`,
      { url: `${upstream.url}/events` },
    );
    assert.deepEqual(out.seen, [
      ['message', 'first', ''],
      ['custom', 'line 1\nline 2', '7'],
      ['message', 'after reconnect', '7'],
    ]);
    assert.equal(out.opens, 2);
    assert.equal(out.state, 2);
    assert.deepEqual(lastEventIds.slice(0, 2), [undefined, '7']);
  });
  it('fails without reconnecting when the response is not an event stream', async () => {
    const out = await h.run(
      `
      const es = new EventSource(input.url);
      await new Promise((resolve) => { es.onerror = resolve; });
      return es.readyState;`,
      { url: `${upstream.url}/not-sse` },
    );
    assert.equal(out, 2);
  });
  it('refuses an invalid URL with a SyntaxError', async () => {
    const e = await h.fails(`return new EventSource('http://[bad');`);
    assert.equal(e.name, 'SyntaxError');
  });
});
