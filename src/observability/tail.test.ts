import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prettyTail, TailDraft, TailHub } from './tail.ts';

describe('tail events', () => {
  it('a flood of console lines is cut at 256 KB of JSON, however short or odd the lines', () => {
    for (const line of ['', 'x', '\u0001'.repeat(100), '€'.repeat(50)]) {
      const d = new TailDraft('w', null, 'stateless');
      for (let i = 0; i < 300_000; i++) d.log('log', line);
      assert.equal(d.item.truncated, true, JSON.stringify(line));
      assert.ok(
        JSON.stringify(d.item).length < 300 * 1024,
        `${JSON.stringify(d.item).length} bytes for ${JSON.stringify(line)}`,
      );
    }
  });
  it('hides credentials in the request it shows', () => {
    const d = new TailDraft(
      'w',
      {
        url: 'https://x/',
        method: 'GET',
        headers: ['authorization', 'Bearer s3cret', 'cookie', 'a=b', 'accept', '*/*'],
      },
      'stateless',
    );
    assert.deepEqual(d.item.event?.request.headers, {
      authorization: 'REDACTED',
      cookie: 'REDACTED',
      accept: '*/*',
    });
  });
  it("prints a worker's text without letting it drive the terminal", () => {
    const d = new TailDraft('w', null, 'stateless');
    d.log('log', '\u001b[31mred\u0007\nnext');
    const text = prettyTail(d.item);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f]/.test(text));
    assert.match(text, /\(log\) \\x1b\[31mred\\x07\n {4}next/);
  });
  it('makes the JSON of an event once for every session', () => {
    const hub = new TailHub();
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) hub.subscribe({}, (_e, json) => seen.push(json()));
    const d = new TailDraft('w', null, 'stateless');
    hub.emit(d.item);
    assert.equal(seen.length, 3);
    assert.ok(seen.every((s) => s === seen[0]));
  });
});

describe('a tail session at its rate cap', () => {
  it('asks invocations for no event while full, and again once it takes events', () => {
    const hub = new TailHub();
    let full = true;
    const forget = hub.subscribe(
      {},
      () => {},
      () => {},
      () => full,
    );
    assert.equal(hub.wants('w'), false, 'no event collected for a full session');
    full = false;
    assert.equal(hub.wants('w'), true);
    forget();
    assert.equal(hub.wants('w'), false);
  });
});
