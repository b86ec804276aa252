// Hop-by-hop fields: the fixed list, the fields a Connection header names (any case, repeated
// Connection fields, odd spacing), and fields kept on purpose.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionListed, withoutHopByHop } from './hop-by-hop.ts';

describe('hop-by-hop fields (RFC 9110 §7.6.1)', () => {
  it('removes the connection-level fields', () => {
    assert.deepEqual(
      withoutHopByHop([
        'Connection',
        'keep-alive',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Trailer',
        'x',
        'Proxy-Connection',
        'close',
        'x-a',
        '1',
      ]),
      ['x-a', '1'],
    );
  });

  it('removes the fields Connection names, in any case and across repeated Connection fields', () => {
    assert.deepEqual(
      withoutHopByHop([
        'connection',
        'X-Secret , keep-alive',
        'x-secret',
        's',
        'Connection',
        'x-other',
        'X-Other',
        'o',
        'accept',
        '*/*',
      ]),
      ['accept', '*/*'],
    );
  });

  it('keeps what it is asked to keep (a WebSocket upgrade)', () => {
    assert.deepEqual(
      withoutHopByHop(
        ['connection', 'Upgrade', 'upgrade', 'websocket', 'sec-websocket-key', 'k'],
        new Set(['upgrade']),
      ),
      ['upgrade', 'websocket', 'sec-websocket-key', 'k'],
    );
  });

  it('reads Connection values', () => {
    assert.deepEqual([...connectionListed('close')], []);
    assert.deepEqual([...connectionListed(['A', ' b ,,c'])], ['a', 'b', 'c']);
    assert.deepEqual([...connectionListed(undefined)], []);
  });
});
