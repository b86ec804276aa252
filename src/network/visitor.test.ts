import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddress, newRay, visitorHeaders } from './visitor.ts';

const asMap = (flat: string[]) =>
  Object.fromEntries(flat.flatMap((v, i) => (i % 2 ? [] : [[v, flat[i + 1]]])));

describe('the headers a PoP sets about the client', () => {
  it('the socket peer is the client when no proxy header is trusted; a client-sent chain is kept and appended to', () => {
    const h = asMap(
      visitorHeaders({ peer: '::ffff:192.0.2.7', forwardedFor: '10.0.0.1', https: false, ray: 'r-DEV' }),
    );
    assert.deepEqual(h, {
      'cf-connecting-ip': '192.0.2.7',
      'x-forwarded-for': '10.0.0.1, 192.0.2.7',
      'x-real-ip': '192.0.2.7',
      'cf-ray': 'r-DEV',
      'cf-visitor': '{"scheme":"http"}',
      'cf-ipcountry': 'XX',
    });
  });
  it('a trusted header gives its last entry (the one the proxy appended); the chain is not repeated', () => {
    const v = {
      peer: '127.0.0.1',
      trusted: '198.51.100.1, 203.0.113.5',
      forwardedFor: '198.51.100.1, 203.0.113.5',
      https: true,
      country: 'DE',
      ray: 'r-FRA',
    };
    const h = asMap(visitorHeaders(v));
    assert.equal(h['cf-connecting-ip'], '203.0.113.5');
    assert.equal(h['x-forwarded-for'], '198.51.100.1, 203.0.113.5');
    assert.equal(h['cf-visitor'], '{"scheme":"https"}');
    assert.equal(h['cf-ipcountry'], 'DE');
  });
  it('addresses with ports or brackets are cleaned; anything that is not an address falls back to the peer', () => {
    assert.equal(clientAddress({ peer: '127.0.0.1', trusted: '203.0.113.5:4711' }), '203.0.113.5');
    assert.equal(clientAddress({ peer: '127.0.0.1', trusted: '[2001:db8::1]:443' }), '2001:db8::1');
    assert.equal(clientAddress({ peer: '127.0.0.1', trusted: '2001:db8::2' }), '2001:db8::2');
    assert.equal(clientAddress({ peer: '127.0.0.1', trusted: 'unknown' }), '127.0.0.1');
    assert.equal(clientAddress({ peer: '127.0.0.1', trusted: '' }), '127.0.0.1');
    assert.equal(clientAddress({ peer: undefined }), '0.0.0.0');
  });
  it('a country that is not a two-letter code is XX', () => {
    assert.equal(
      asMap(visitorHeaders({ peer: '::1', https: false, country: 'Germany', ray: 'x' }))['cf-ipcountry'],
      'XX',
    );
  });
  it('ray ids are 16 hex digits and the PoP, unique', () => {
    const a = newRay('FRA');
    const b = newRay('FRA');
    assert.match(a, /^[0-9a-f]{16}-FRA$/);
    assert.notEqual(a, b);
  });
});
