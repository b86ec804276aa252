import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestFilter, RequestStream } from './request-stream.ts';

const record = (cache: string, worker = 'w') => ({
  at: 0,
  ray: 'r-LHR',
  pop: 'LHR',
  worker,
  method: 'GET',
  path: '/',
  status: 200,
  cache,
  ms: 1,
  bytes: 0,
});

describe('request stream (the Requests view by cache status)', () => {
  it('hands each listener the requests its filter matches; listening only while someone is', () => {
    const s = new RequestStream();
    assert.equal(s.listening, false);
    const hits: string[] = [];
    const all: string[] = [];
    const stop = s.listen({ cache: ['HIT', 'STALE'] }, (r) => hits.push(r.cache));
    s.listen({}, (r) => all.push(`${r.worker}:${r.cache}`));
    const other = s.listen({ worker: 'api' }, (r) => assert.equal(r.worker, 'api'));
    assert.equal(s.listening, true);
    for (const c of ['HIT', 'MISS', 'STALE', 'none']) s.emit(record(c));
    s.emit(record('HIT', 'api'));
    assert.deepEqual(hits, ['HIT', 'STALE', 'HIT']);
    assert.equal(all.length, 5);
    stop();
    other();
    s.emit(record('HIT'));
    assert.deepEqual(hits, ['HIT', 'STALE', 'HIT']);
  });

  it('names a cache status it does not know', () => {
    assert.deepEqual(parseRequestFilter(new URLSearchParams('cache=HIT,none&worker=w')), {
      cache: ['HIT', 'none'],
      worker: 'w',
    });
    assert.match(
      String(parseRequestFilter(new URLSearchParams('cache=hit'))),
      /cache must be one of .*received "hit"/,
    );
  });
});
