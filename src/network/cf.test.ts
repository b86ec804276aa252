// request.cf from one builder: the local PoP's, and a topology PoP's for a located client —
// HTTP/2 written as Cloudflare writes it ("HTTP/2", the topology path said "HTTP/2.0"), the TLS
// version passed through (it was always '' there), the client's place when it is known.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestCf } from './cf.ts';

const FRA = {
  id: 'FRA',
  city: 'Frankfurt',
  country: 'DE',
  continent: 'EU',
  latitude: 50.11,
  longitude: 8.68,
  timezone: 'Europe/Berlin',
  region: 'Hesse',
  regionCode: 'HE',
};

describe('request.cf', () => {
  it('a located client of a topology PoP: its place, the round trip, HTTP/2 and TLS as spoken', () => {
    const cf = requestCf({
      pop: FRA,
      client: {
        latitude: 48.8566,
        longitude: 2.3522,
        city: 'Paris',
        country: 'FR',
        continent: 'EU',
        timezone: 'Europe/Paris',
        source: 'CDG',
      },
      rttMs: 9.6,
      httpVersion: '2.0',
      tlsVersion: 'TLSv1.3',
    });
    assert.equal(cf.colo, 'FRA');
    assert.deepEqual(
      [cf.country, cf.city, cf.timezone, cf.latitude],
      ['FR', 'Paris', 'Europe/Paris', '48.85660'],
    );
    assert.deepEqual([cf.httpProtocol, cf.tlsVersion, cf.clientTcpRtt], ['HTTP/2', 'TLSv1.3', 10]);
    assert.equal(cf.region, undefined);
  });

  it('a client whose country is unknown gets the PoP’s place; plain HTTP/1.1 has no TLS version', () => {
    const cf = requestCf({
      pop: FRA,
      client: { latitude: 50, longitude: 8, source: 'coordinates' },
      rttMs: 0,
      httpVersion: '1.1',
      tlsVersion: '',
    });
    assert.deepEqual([cf.country, cf.city, cf.region, cf.regionCode], ['DE', 'Frankfurt', 'Hesse', 'HE']);
    assert.deepEqual([cf.httpProtocol, cf.tlsVersion], ['HTTP/1.1', '']);
  });
});
