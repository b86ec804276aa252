import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PurgeBus, parsePurge } from './purge.ts';

describe('purge selectors', () => {
  it('accepts files, prefixes (full, scheme-less, path), tags, everything and a worker', () => {
    assert.deepEqual(
      parsePurge({
        files: ['https://a.example/x'],
        prefixes: ['https://a.example/blog/', 'b.example/shop/', '/static/'],
        tags: ['t1'],
        worker: 'shop',
      }),
      {
        urls: ['https://a.example/x'],
        prefixes: ['https://a.example/blog/', 'http://b.example/shop/', 'https://b.example/shop/'],
        paths: ['/static/'],
        tags: ['t1'],
        everything: false,
        namespace: 'shop',
      },
    );
    assert.equal(parsePurge({ purge_everything: true }).everything, true);
  });
  it('names what is wrong', () => {
    const cases: [unknown, RegExp][] = [
      [null, /must be a JSON object/],
      [[], /must be a JSON object/],
      [{}, /nothing to purge/],
      [{ purge_everything: false }, /nothing to purge/],
      [{ files: 'https://a.example/' }, /"files" must be an array of strings/],
      [
        { files: ['ftp://a.example/'] },
        /"files\[0\]" must be an http\(s\) URL, received "ftp:\/\/a.example\/"/,
      ],
      [{ files: [''] }, /"files\[0\]" must be a non-empty string/],
      [{ tags: ['a,b'] }, /"tags\[0\]" must not contain commas/],
      [{ tags: Array.from({ length: 1001 }, (_, i) => `t${i}`) }, /at most 1000 items, received 1001/],
      [{ purge_everything: 'yes' }, /"purge_everything" must be true or false/],
      [{ worker: '' }, /"worker" must be a worker name/],
      [{ everything: true }, /unknown field "everything"/],
    ];
    for (const [body, re] of cases)
      assert.throws(() => parsePurge(body), re, JSON.stringify(body)?.slice(0, 80));
  });
  it('the bus reaches every cache that joined, and stops when one leaves; labelled ones acknowledge by name', async () => {
    const bus = new PurgeBus();
    const seen: string[] = [];
    const leave = bus.join({
      purge: () => {
        seen.push('a');
        return 2;
      },
    });
    bus.join(
      {
        purge: async () => {
          seen.push('b');
          return 3;
        },
      },
      { tier: 'shield', id: 'eu-west' },
    );
    assert.deepEqual(await bus.purge({ everything: true }), {
      purged: 5,
      caches: 2,
      byCache: [{ tier: 'shield', id: 'eu-west', purged: 3 }],
    });
    leave();
    assert.deepEqual(await bus.purge({ everything: true }), {
      purged: 3,
      caches: 1,
      byCache: [{ tier: 'shield', id: 'eu-west', purged: 3 }],
    });
    assert.deepEqual(seen, ['a', 'b', 'b']);
  });
});
